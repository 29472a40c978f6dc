import KasvuPostgres
import Testing

/// SQLite's placeholders as PostgreSQL's: `?N` is `$N`, a bare `?` is one more than the
/// largest number so far, and a `?` in a literal, identifier or comment is text.
@Suite struct PostgresPlaceholdersTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let sql: String
        let expected: String
        let count: Int
        var testDescription: String { sql }
    }

    static let vectors: [Vector] = [
        Vector(sql: "SELECT 1", expected: "SELECT 1", count: 0),
        Vector(sql: "", expected: "", count: 0),
        Vector(sql: "SELECT ?", expected: "SELECT $1", count: 1),
        Vector(sql: "? ? ?", expected: "$1 $2 $3", count: 3),
        Vector(sql: "?2 ? ?1", expected: "$2 $3 $1", count: 3),
        Vector(sql: "?3", expected: "$3", count: 3),
        Vector(sql: "? ?5 ?", expected: "$1 $5 $6", count: 6),
        Vector(sql: "?1, ?1, ?", expected: "$1, $1, $2", count: 2),
        Vector(sql: "a=?,b=?", expected: "a=$1,b=$2", count: 2),
        Vector(sql: "VALUES (?,?)", expected: "VALUES ($1,$2)", count: 2),
        Vector(sql: "'?' ?", expected: "'?' $1", count: 1),
        Vector(sql: "'it''s ?' ?", expected: "'it''s ?' $1", count: 1),
        Vector(sql: "'a' || ? || 'b?'", expected: "'a' || $1 || 'b?'", count: 1),
        Vector(sql: "\"we?ird\" = ?", expected: "\"we?ird\" = $1", count: 1),
        Vector(sql: "\"a\"\"?\" = ?", expected: "\"a\"\"?\" = $1", count: 1),
        Vector(sql: "-- what?\nSELECT ?", expected: "-- what?\nSELECT $1", count: 1),
        Vector(sql: "SELECT ? -- last?", expected: "SELECT $1 -- last?", count: 1),
        Vector(sql: "SELECT 5-?", expected: "SELECT 5-$1", count: 1),
        Vector(sql: "/* a ? /* b ? */ c ? */ ?", expected: "/* a ? /* b ? */ c ? */ $1", count: 1),
        Vector(sql: "SELECT 4/?", expected: "SELECT 4/$1", count: 1),
        Vector(sql: "E'\\'?' ?", expected: "E'\\'?' $1", count: 1),
        Vector(sql: "e'\\\\' ?", expected: "e'\\\\' $1", count: 1),
        Vector(sql: "'\\' ?", expected: "'\\' $1", count: 1),
        Vector(sql: "$$ ? $$ ?", expected: "$$ ? $$ $1", count: 1),
        Vector(sql: "$tag$ ? $x$ ? $tag$ ?", expected: "$tag$ ? $x$ ? $tag$ $1", count: 1),
        Vector(sql: "SELECT $1, ?", expected: "SELECT $1, $2", count: 2),
        Vector(sql: "SELECT $2", expected: "SELECT $2", count: 2),
        Vector(sql: "SELECT a$b, ?", expected: "SELECT a$b, $1", count: 1),
        Vector(sql: "SELECT 'unterminated ?", expected: "SELECT 'unterminated ?", count: 0),
        Vector(sql: "SELECT \"unterminated ?", expected: "SELECT \"unterminated ?", count: 0),
        Vector(sql: "SELECT 'ä?', ?, 'ö'", expected: "SELECT 'ä?', $1, 'ö'", count: 1),
        Vector(sql: "WHERE a = ? AND b = 'x' AND c = ?", expected: "WHERE a = $1 AND b = 'x' AND c = $2", count: 2),
        Vector(sql: "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
               expected: "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = excluded.b", count: 2),
    ]

    @Test(arguments: vectors)
    func translates(_ vector: Vector) {
        let (sql, count) = PostgresPlaceholders.translate(vector.sql)
        #expect(sql == vector.expected)
        #expect(count == vector.count)
    }

    @Test(arguments: [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;", ["SELECT 1"]),
        ("CREATE TABLE a (x text); INSERT INTO a VALUES (';');\n", ["CREATE TABLE a (x text)", " INSERT INTO a VALUES (';')"]),
        ("SELECT ';' AS \"a;b\" -- c;d\n; SELECT $$;$$; /* ; */", ["SELECT ';' AS \"a;b\" -- c;d\n", " SELECT $$;$$"]),
        ("-- only a comment; really\n SELECT 2; -- done", ["-- only a comment; really\n SELECT 2"]),
        (" ; ;", []),
    ])
    func splitsStatements(_ sql: String, _ expected: [String]) {
        #expect(PostgresPlaceholders.statements(sql) == expected)
    }
}
