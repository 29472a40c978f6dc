/// The statement text KasvuSQL speaks, as PostgreSQL wants it.
///
/// The central store writes SQLite's placeholders: `?N` for the N-th argument and a bare `?`
/// for the argument after the largest number assigned so far. PostgreSQL numbers them `$N`.
///
/// ```swift
/// let (sql, count) = PostgresPlaceholders.translate("SELECT * FROM t WHERE a = ? AND b = ?1 AND c = ?")
/// // sql == "SELECT * FROM t WHERE a = $1 AND b = $1 AND c = $2", count == 2
/// ```
public enum PostgresPlaceholders {
    /// `sql` with every placeholder numbered the PostgreSQL way, and the number of arguments
    /// it takes (the largest placeholder number, as SQLite counts them).
    ///
    /// A `?` inside a string literal (`'...'`, `E'...'`), a quoted identifier (`"..."`), a
    /// dollar-quoted string (`$$...$$`, `$tag$...$tag$`) or a comment (`-- ...`, `/* ... */`)
    /// is text, not a placeholder, and stays as written. `$N` already in the text stays and
    /// counts. PostgreSQL's jsonb operators `?`, `?|` and `?&` cannot be written: use
    /// `jsonb_exists`, `jsonb_exists_any`, `jsonb_exists_all`.
    public static func translate(_ sql: String) -> (sql: String, parameterCount: Int) {
        let input = Array(sql.utf8)
        guard input.contains(UInt8(ascii: "?")) || input.contains(UInt8(ascii: "$")) else {
            return (sql, 0)
        }
        var output: [UInt8] = []
        output.reserveCapacity(input.count + 8)
        var largest = 0
        var index = 0
        let count = input.count
        while index < count {
            if let end = literalEnd(input, at: index) {
                output.append(contentsOf: input[index..<end])
                index = end
                continue
            }
            let character = input[index]
            switch character {
            case UInt8(ascii: "$") where index == 0 || !isIdentifier(input[index - 1]):
                // $N, PostgreSQL's own placeholder (a dollar quote was handled above).
                var end = index + 1
                while end < count, isDigit(input[end]) { end += 1 }
                if end > index + 1, let number = Int(String(decoding: input[(index + 1)..<end], as: UTF8.self)) {
                    largest = max(largest, number)
                }
                output.append(contentsOf: input[index..<max(end, index + 1)])
                index = max(end, index + 1)
            case UInt8(ascii: "?"):
                var end = index + 1
                while end < count, isDigit(input[end]) { end += 1 }
                if end > index + 1, let number = Int(String(decoding: input[(index + 1)..<end], as: UTF8.self)) {
                    largest = max(largest, number)
                    output.append(contentsOf: Array("$\(number)".utf8))
                } else if end > index + 1 {
                    // A number too large for Int: PostgreSQL refuses it.
                    output.append(UInt8(ascii: "$"))
                    output.append(contentsOf: input[(index + 1)..<end])
                } else {
                    largest += 1
                    output.append(contentsOf: Array("$\(largest)".utf8))
                }
                index = end
            default:
                output.append(character)
                index += 1
            }
        }
        return (String(decoding: output, as: UTF8.self), largest)
    }

    /// The statements of `sql`, split at the semicolons outside literals, identifiers and
    /// comments; statements of nothing but white space and comments are left out (PostgreSQL
    /// answers those with an empty response, not a command).
    ///
    /// ```swift
    /// PostgresPlaceholders.statements("CREATE TABLE a (x text); INSERT INTO a VALUES (';'); -- done")
    /// // ["CREATE TABLE a (x text)", " INSERT INTO a VALUES (';')"]
    /// ```
    public static func statements(_ sql: String) -> [String] {
        let input = Array(sql.utf8)
        guard input.contains(UInt8(ascii: ";")) else { return [sql] }
        var statements: [String] = []
        var start = 0
        var index = 0
        var hasCode = false
        while index < input.count {
            let character = input[index]
            if let end = literalEnd(input, at: index) {
                if character != UInt8(ascii: "-"), character != UInt8(ascii: "/") { hasCode = true }
                index = end
            } else if character == UInt8(ascii: ";") {
                if hasCode { statements.append(String(decoding: input[start..<index], as: UTF8.self)) }
                hasCode = false
                index += 1
                start = index
            } else {
                if !(character == 0x20 || (0x09...0x0D).contains(character)) { hasCode = true }
                index += 1
            }
        }
        if hasCode { statements.append(String(decoding: input[start...], as: UTF8.self)) }
        return statements
    }

    /// When a string literal, quoted identifier, dollar-quoted string or comment starts at
    /// `index`: the index after it (the end of the text when it is unterminated).
    private static func literalEnd(_ input: [UInt8], at index: Int) -> Int? {
        let count = input.count
        func byte(_ at: Int) -> UInt8? { at < count ? input[at] : nil }
        let character = input[index]
        switch character {
        case UInt8(ascii: "'"):
            // E'...' strings take backslash escapes; all strings take a doubled quote.
            let backslashes = index > 0 && (input[index - 1] == UInt8(ascii: "E") || input[index - 1] == UInt8(ascii: "e"))
                && (index < 2 || !isIdentifier(input[index - 2]))
            return quotedEnd(input, from: index, quote: character, backslashes: backslashes)
        case UInt8(ascii: "\""):
            return quotedEnd(input, from: index, quote: character, backslashes: false)
        case UInt8(ascii: "-") where byte(index + 1) == UInt8(ascii: "-"):
            var end = index + 2
            while end < count, input[end] != UInt8(ascii: "\n") { end += 1 }
            return min(end + 1, count)
        case UInt8(ascii: "/") where byte(index + 1) == UInt8(ascii: "*"):
            // Block comments nest in PostgreSQL.
            var depth = 1
            var end = index + 2
            while end < count, depth > 0 {
                if input[end] == UInt8(ascii: "/"), byte(end + 1) == UInt8(ascii: "*") {
                    depth += 1; end += 2
                } else if input[end] == UInt8(ascii: "*"), byte(end + 1) == UInt8(ascii: "/") {
                    depth -= 1; end += 2
                } else {
                    end += 1
                }
            }
            return end
        case UInt8(ascii: "$") where index == 0 || !isIdentifier(input[index - 1]):
            guard let tagEnd = dollarTagEnd(input, from: index) else { return nil }
            let tag = input[index...tagEnd]
            var close = tagEnd + 1
            while close < count {
                if input[close] == UInt8(ascii: "$"), close + tag.count <= count, input[close..<(close + tag.count)].elementsEqual(tag) {
                    return close + tag.count
                }
                close += 1
            }
            return count
        default:
            return nil
        }
    }

    /// The index after the closing quote (or the end of the text when it is unterminated).
    private static func quotedEnd(_ input: [UInt8], from start: Int, quote: UInt8, backslashes: Bool) -> Int {
        var index = start + 1
        while index < input.count {
            let character = input[index]
            if backslashes, character == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if character == quote {
                if index + 1 < input.count, input[index + 1] == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return input.count
    }

    /// The index of the `$` closing the tag of a dollar quote starting at `start`
    /// (`$$` or `$tag$`), or nil when `start` opens none.
    private static func dollarTagEnd(_ input: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        guard index < input.count else { return nil }
        if input[index] == UInt8(ascii: "$") { return index }
        guard isIdentifierStart(input[index]) else { return nil }
        index += 1
        while index < input.count, isIdentifier(input[index]), input[index] != UInt8(ascii: "$") { index += 1 }
        return index < input.count && input[index] == UInt8(ascii: "$") ? index : nil
    }

    private static func isDigit(_ character: UInt8) -> Bool {
        character >= UInt8(ascii: "0") && character <= UInt8(ascii: "9")
    }

    private static func isIdentifierStart(_ character: UInt8) -> Bool {
        (character >= UInt8(ascii: "a") && character <= UInt8(ascii: "z")) || (character >= UInt8(ascii: "A") && character <= UInt8(ascii: "Z"))
            || character == UInt8(ascii: "_") || character >= 0x80
    }

    private static func isIdentifier(_ character: UInt8) -> Bool {
        isIdentifierStart(character) || isDigit(character) || character == UInt8(ascii: "$")
    }
}
