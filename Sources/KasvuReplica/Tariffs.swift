import Foundation
import GRDB
import KasvuDomain
import KasvuSync

/// The tariff as data: versions per pilot area, each valid from a date (``TariffSchedule``).
extension Replica {
    /// Sets the version of `area`'s tariff valid from `validFrom` (the central office's). A
    /// second call for the same area and date corrects it; invoices issued before keep what
    /// they were computed with, and the next ones carry the difference as corrections.
    ///
    /// ```swift
    /// try await replica.setTariff(area: "Pohjois-Savo", validFrom: "2027-01-01", document: Data(json.utf8))
    /// ```
    ///
    /// - Throws: `validation_failed` naming each problem of the document (dotted paths such
    ///   as `document.capitation.weights.2`), an unknown area or a malformed date.
    public func setTariff(area: String, validFrom: String, document: Data) async throws -> TariffSchedule.Version {
        let schema = EntityKind.tariff.schema
        var errors: [FieldError] = []
        var values: [String: FieldValue] = [:]
        for (field, value) in [("pilotArea", area), ("validFrom", validFrom)] {
            do throws(KasvuError) { values[field] = try schema.validateValue(field, .string(value)) } catch { errors += error.fieldErrors }
        }
        var tariff: Tariff?
        do throws(KasvuError) { tariff = try Tariff(json: document) } catch {
            // The document's own paths (`capitation.weights`) under `tariff`, the parameter.
            errors += error.fieldErrors.isEmpty ? [FieldError(field: "tariff", message: error.message)]
                : error.fieldErrors.map { FieldError(field: $0.field == "tariff" ? "tariff" : "tariff.\($0.field)", message: $0.message) }
        }
        guard errors.isEmpty, let tariff, let areaCode = values["pilotArea"]?.stringValue, let from = values["validFrom"]?.stringValue else {
            throw KasvuError.validationFailed(errors)
        }
        values["version"] = .string(tariff.version)
        values["document"] = .string(tariff.jsonText())
        let id = Tariff.recordID(area: areaCode, validFrom: from), written = values
        try await write { db in
            // The version and its document always together: two laptops correcting one version
            // must not leave one's version beside the other's document.
            let state = try Self.loadState(db, .tariff, id) ?? RecordState()
            let changes = state.fields.isEmpty ? written : written.filter { $0.key == "version" || $0.key == "document" }
            if state.fields.isEmpty || changes.contains(where: { state.value($0.key) != $0.value }) {
                _ = try self.commit(db, .tariff, id, state: state, changes: changes)
            }
        }
        return TariffSchedule.Version(area: areaCode, validFrom: try CalendarDate(iso: from), tariff: tariff)
    }

    /// Every tariff version this replica holds (every replica receives them).
    public func tariffSchedule() async throws -> TariffSchedule {
        try await read { db in try Self.tariffSchedule(db) }
    }

    static func tariffSchedule(_ db: Database) throws -> TariffSchedule {
        let versions = try Row.fetchAll(db, sql: "SELECT sync_state FROM tariff WHERE deleted IS NOT 1").compactMap { row -> TariffSchedule.Version? in
            let state = try Self.decodeState(row["sync_state"])
            guard let area = state.value(.pilotArea).stringValue, let from = state.value(.validFrom).stringValue.flatMap({ try? CalendarDate(iso: $0) }),
                  let text = state.value(.document).stringValue, let tariff = try? Tariff(json: Data(text.utf8)) else { return nil }
            return TariffSchedule.Version(area: area, validFrom: from, tariff: tariff)
        }
        return TariffSchedule(versions: versions.sorted { ($0.area, $0.validFrom) < ($1.area, $1.validFrom) })
    }

    /// The tariff valid in `area` on `date` (today by default): its region code, the day the
    /// version was set valid from (nil: the built-in tariff) and the tariff.
    public func tariff(area: String, on date: CalendarDate? = nil) async throws -> (area: String, validFrom: CalendarDate?, tariff: Tariff) {
        let code = try Self.areaCode(area)
        let version = try await tariffSchedule().version(area: code, on: date ?? today())
        return (code, version?.validFrom, version?.tariff ?? .current)
    }

    /// The region code of an area given by code or name.
    public static func areaCode(_ text: String) throws(KasvuError) -> String {
        guard let region = Municipalities.shipped.region(text) else {
            throw .validationFailed(field: "area", "unknown pilot area '\(text)': give a region code such as MK11 or a name such as Pohjois-Savo")
        }
        return region.code
    }
}
