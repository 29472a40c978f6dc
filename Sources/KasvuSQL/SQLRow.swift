/// One result row: its values by column name or position.
///
/// ```swift
/// for row in try connection.all("SELECT entity, id FROM record WHERE seq > ?", [cursor]) {
///     let entity: String = try row["entity"]
/// }
/// ```
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the first column with this name; a missing column or a value of another
    /// type is an error of the query, reported with the column's name.
    public subscript<T: SQLValueConvertible>(_ column: String) -> T {
        get throws(SQLError) {
            guard let index = columns.firstIndex(of: column) else {
                throw SQLError(code: "column", message: "no column \(column) in the result (\(columns.joined(separator: ", ")))")
            }
            return try self[index]
        }
    }

    public subscript<T: SQLValueConvertible>(_ index: Int) -> T {
        get throws(SQLError) {
            guard values.indices.contains(index) else { throw SQLError(code: "column", message: "no column \(index) in a row of \(values.count)") }
            guard let value = T(sqlValue: values[index]) else {
                throw SQLError(code: "type", message: "column \(columns[index]) holds \(values[index].kindName), not \(T.self)")
            }
            return value
        }
    }
}

extension SQLValue {
    /// The storage class, for error messages: never the value itself (it may be personal data).
    var kindName: String {
        switch self {
        case .null: "null"
        case .integer: "an integer"
        case .text: "text"
        }
    }
}
