import Foundation
import KasvuDomain
import KasvuReplica

/// A table of a page: rendered as HTML (sortable by its column headers, server-side, so no
/// script is needed) and downloadable as CSV from the same rows.
struct Table: Sendable {
    struct Column: Sendable {
        /// Stable machine name: the CSV header, the sort parameter and the cells' `data-key`.
        let key: String
        let label: String
        let numeric: Bool
    }

    struct Cell: Sendable {
        /// As shown.
        let text: String
        /// As the CSV and the `data-value` attribute carry it: plain digits, decimal points, ISO dates.
        let value: String
        let number: Decimal?
        var link: String? = nil
        /// Marked for attention (a full cap, a stale replica).
        var flagged = false

        static func text(_ text: String, link: String? = nil) -> Cell { Cell(text: text, value: text, number: nil, link: link) }
        static func int(_ value: Int, flagged: Bool = false) -> Cell {
            Cell(text: "\(value)", value: "\(value)", number: Decimal(value), flagged: flagged)
        }
        /// Money or hours: shown and carried with `scale` decimals, sorted as a number.
        static func decimal(_ value: Decimal, scale: Int = 2) -> Cell {
            let text = Money.format(value, scale: scale)
            return Cell(text: text, value: text, number: value)
        }
        /// A decimal string as stored (money in a record), sorted as a number when it is one
        /// through and through (`Decimal(string:)` alone takes `1+x` as 1).
        static func decimal(text: String) -> Cell {
            Cell(text: text, value: text, number: text.wholeMatch(of: /-?[0-9]{1,30}(\.[0-9]{1,10})?/) != nil ? Decimal(string: text) : nil)
        }
    }

    let id: String
    let caption: String
    let columns: [Column]
    var rows: [[Cell]]

    init(id: String, caption: String, columns: [(key: String, label: String, numeric: Bool)], rows: [[Cell]]) {
        self.id = id
        self.caption = caption
        self.columns = columns.map { Column(key: $0.key, label: $0.label, numeric: $0.numeric) }
        self.rows = rows
    }

    /// The rows ordered by one column; ties keep their order.
    func sorted(by key: String, descending: Bool) -> Table {
        guard let index = columns.firstIndex(where: { $0.key == key }) else { return self }
        var copy = self
        copy.rows = rows.enumerated().sorted { a, b in
            let (x, y) = (a.element[index], b.element[index])
            let order: ComparisonResult = if let p = x.number, let q = y.number {
                p == q ? .orderedSame : (p < q ? .orderedAscending : .orderedDescending)
            } else {
                x.text.localizedStandardCompare(y.text)
            }
            if order == .orderedSame { return a.offset < b.offset }
            return descending ? order == .orderedDescending : order == .orderedAscending
        }.map(\.element)
        return copy
    }

    /// RFC 4180 with CRLF line ends and a header of the column keys. A text cell that a
    /// spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is prefixed with `'`: names come
    /// from replicas, and a CSV opened in a spreadsheet must not run what they typed.
    func csv() -> String {
        var lines = [columns.map { OpenData.Table.field($0.key) }.joined(separator: ",")]
        for row in rows {
            lines.append(row.map { cell in
                var value = cell.value
                if cell.number == nil, let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
                return OpenData.Table.field(value)
            }.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// What the `table` template needs: headers that link to the opposite order, cells with
    /// their raw values.
    func context(path: String, sortedBy: String?, descending: Bool, language: Language) -> [String: Any] {
        [
            "id": id,
            "caption": caption,
            "csvHref": "\(path)?format=csv&table=\(id)",
            "downloadLabel": "\(language.text("downloadCSV")): \(caption)",
            "empty": rows.isEmpty,
            "columnCount": columns.count,
            "columns": columns.map { column -> [String: Any] in
                let full = "\(id).\(column.key)"
                let current = sortedBy == full
                let next = current && !descending ? "desc" : "asc"
                return [
                    "key": column.key, "label": column.label, "numeric": column.numeric,
                    "href": "\(path)?sort=\(full)&dir=\(next)",
                    "ariaSort": current ? (descending ? "descending" : "ascending") : "none",
                    "arrow": current ? (descending ? "▼" : "▲") : "",
                ]
            },
            "rows": rows.map { row -> [String: Any] in
                ["cells": zip(columns, row).map { column, cell -> [String: Any] in
                    ["key": column.key, "text": cell.text, "value": cell.value, "numeric": column.numeric,
                     "hasLink": cell.link != nil, "link": cell.link ?? "", "flagged": cell.flagged]
                }]
            },
        ]
    }
}

/// A horizontal bar chart drawn as SVG on the server: one bar per row, an optional mark (a
/// provider's cap) on each, the value written beside it.
struct BarChart: Sendable {
    struct Bar: Sendable {
        let label: String
        let value: Decimal
        let text: String
        var mark: Decimal? = nil
    }

    let id: String
    let title: String
    let bars: [Bar]

    static let width = 720, labelWidth = 240, valueWidth = 90, rowHeight = 26

    /// Geometry in whole pixels, computed in decimals: the chart draws money too.
    func context() -> [String: Any] {
        let plot = Self.width - Self.labelWidth - Self.valueWidth
        let top = bars.flatMap { [$0.value, $0.mark ?? 0] }.max() ?? 0
        func pixels(_ value: Decimal) -> Int {
            guard top > 0, value > 0 else { return 0 }
            var scaled = value * Decimal(plot) / top, rounded = Decimal()
            NSDecimalRound(&rounded, &scaled, 0, .plain)
            return NSDecimalNumber(decimal: rounded).intValue
        }
        return [
            "id": id, "title": title, "width": Self.width, "height": max(1, bars.count) * Self.rowHeight + 8,
            "empty": bars.isEmpty,
            "bars": bars.enumerated().map { index, bar -> [String: Any] in
                let y = index * Self.rowHeight + 4
                let length = pixels(bar.value)
                var context: [String: Any] = [
                    "label": bar.label, "text": bar.text, "y": y, "textY": y + 16, "labelX": Self.labelWidth - 8,
                    "x": Self.labelWidth, "barWidth": length, "valueX": Self.labelWidth + length + 6, "barHeight": Self.rowHeight - 8,
                ]
                if let mark = bar.mark {
                    context["hasMark"] = true
                    context["markX"] = Self.labelWidth + pixels(mark)
                    context["markY2"] = y + Self.rowHeight - 4
                }
                return context
            },
        ]
    }
}
