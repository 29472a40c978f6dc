import KasvuSQL
import NIOCore
import PostgresNIO

/// Result columns as ``SQLValue``s, by their PostgreSQL type. postgres-nio asks for every
/// column in the binary format, so each type needs its own reading:
///
/// | PostgreSQL | SQLValue |
/// |---|---|
/// | int2, int4, int8, oid | `.integer` |
/// | bool | `.integer(0 or 1)` |
/// | text, varchar, bpchar, name, "char", json, jsonb, uuid, bytea, enums, other text-like types | `.text` |
/// | numeric, float4, float8, date, timestamp, timestamptz | `.text`, as PostgreSQL prints them (times in UTC) |
/// | NULL | `.null` |
///
/// A type whose binary form is not text (arrays, intervals, ranges…) is an error naming the
/// column: cast it to text in the query (`col::text`).
enum PostgresValues {
    static func decode(_ cell: PostgresCell) throws(SQLError) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        if cell.format == .text {
            let text = bytes.readString(length: bytes.readableBytes) ?? ""
            switch cell.dataType {
            case .int2, .int4, .int8, .oid:
                if let number = Int64(text) { return .integer(number) }
                return .text(text)
            case .bool: return .integer(text == "t" ? 1 : 0)
            default: return .text(text)
            }
        }
        switch cell.dataType {
        case .int2: return .integer(Int64(try read(&bytes, Int16.self, cell)))
        case .int4: return .integer(Int64(try read(&bytes, Int32.self, cell)))
        case .int8: return .integer(try read(&bytes, Int64.self, cell))
        case .oid: return .integer(Int64(try read(&bytes, UInt32.self, cell)))
        case .bool: return .integer(try read(&bytes, UInt8.self, cell) == 0 ? 0 : 1)
        case .float4: return .text(floatText(Double(Float(bitPattern: try read(&bytes, UInt32.self, cell)))))
        case .float8: return .text(floatText(Double(bitPattern: try read(&bytes, UInt64.self, cell))))
        case .numeric: return .text(try numericText(&bytes, cell))
        case .date:
            let days = try read(&bytes, Int32.self, cell)
            if days == Int32.max { return .text("infinity") }
            if days == Int32.min { return .text("-infinity") }
            return .text(dateText(days: Int64(days)))
        case .timestamp, .timestamptz:
            let micros = try read(&bytes, Int64.self, cell)
            if micros == Int64.max { return .text("infinity") }
            if micros == Int64.min { return .text("-infinity") }
            return .text(timestampText(micros: micros) + (cell.dataType == .timestamptz ? "+00" : ""))
        case .uuid:
            guard bytes.readableBytes == 16, let raw = bytes.readBytes(length: 16) else { throw malformed(cell) }
            let hex = raw.map { byte in String(byte, radix: 16).leftPadded(to: 2) }
            return .text([hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-"))
        case .jsonb:
            guard bytes.readInteger(as: UInt8.self) == 1 else { throw malformed(cell) }
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        case .bytea:
            // As the SQLite backend reads a blob.
            return .text(String(decoding: bytes.readableBytesView, as: UTF8.self))
        case .text, .varchar, .bpchar, .name, .char, .json:
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        default:
            // Enums, citext, domains over text and the like send their text.
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                throw SQLError(code: "type", message: "column \(cell.columnName) has the PostgreSQL type \(cell.dataType) (oid \(cell.dataType.rawValue)), which KasvuPostgres does not read: cast it to text in the query")
            }
            return .text(text)
        }
    }

    private static func read<I: FixedWidthInteger>(_ bytes: inout ByteBuffer, _ type: I.Type, _ cell: PostgresCell) throws(SQLError) -> I {
        guard bytes.readableBytes == MemoryLayout<I>.size, let value = bytes.readInteger(as: I.self) else { throw malformed(cell) }
        return value
    }

    private static func malformed(_ cell: PostgresCell) -> SQLError {
        SQLError(code: "type", message: "column \(cell.columnName) of PostgreSQL type \(cell.dataType) arrived malformed")
    }

    private static func floatText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// PostgreSQL's binary numeric: digit count, weight (of the first base-10000 digit),
    /// sign, display scale, then the base-10000 digits.
    private static func numericText(_ bytes: inout ByteBuffer, _ cell: PostgresCell) throws(SQLError) -> String {
        guard let count = bytes.readInteger(as: Int16.self), let weight = bytes.readInteger(as: Int16.self),
              let sign = bytes.readInteger(as: UInt16.self), let scale = bytes.readInteger(as: Int16.self),
              count >= 0, scale >= 0, bytes.readableBytes == Int(count) * 2 else { throw malformed(cell) }
        switch sign {
        case 0xC000: return "NaN"
        case 0xD000: return "Infinity"
        case 0xF000: return "-Infinity"
        case 0x0000, 0x4000: break
        default: throw malformed(cell)
        }
        var digits: [Int16] = []
        for _ in 0..<Int(count) { digits.append(bytes.readInteger(as: Int16.self) ?? 0) }
        func digit(_ index: Int) -> Int16 { index >= 0 && index < digits.count ? digits[index] : 0 }
        var text = sign == 0x4000 ? "-" : ""
        if weight < 0 {
            text += "0"
        } else {
            for index in 0...Int(weight) {
                text += index == 0 ? String(digit(index)) : String(digit(index)).leftPadded(to: 4)
            }
        }
        if scale > 0 {
            var fraction = ""
            var index = Int(weight) + 1
            while fraction.count < Int(scale) {
                fraction += String(digit(index)).leftPadded(to: 4)
                index += 1
            }
            text += "." + fraction.prefix(Int(scale))
        }
        return text
    }

    /// `YYYY-MM-DD` for days since 2000-01-01 (proleptic Gregorian, years before 1 as BC).
    private static func dateText(days: Int64) -> String {
        // Howard Hinnant's civil_from_days, from 1970-01-01.
        let z = days + 10_957 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let body = "\(String(month).leftPadded(to: 2))-\(String(day).leftPadded(to: 2))"
        return year >= 1 ? "\(String(year).leftPadded(to: 4))-\(body)" : "\(String(1 - year).leftPadded(to: 4))-\(body) BC"
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` for microseconds since 2000-01-01 00:00:00.
    private static func timestampText(micros: Int64) -> String {
        let perDay: Int64 = 86_400_000_000
        var days = micros / perDay
        var rest = micros % perDay
        if rest < 0 { rest += perDay; days -= 1 }
        let seconds = rest / 1_000_000
        let fraction = rest % 1_000_000
        var text = dateText(days: days)
        let bc = text.hasSuffix(" BC")
        if bc { text.removeLast(3) }
        text += " \(String(seconds / 3600).leftPadded(to: 2)):\(String(seconds / 60 % 60).leftPadded(to: 2)):\(String(seconds % 60).leftPadded(to: 2))"
        if fraction > 0 {
            var digits = String(fraction).leftPadded(to: 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return bc ? text + " BC" : text
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
