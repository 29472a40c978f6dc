import KasvuDomain
import Testing

/// Field names are spelled once, as `FieldKey`s: each names a field of some entity, and every
/// schema field is one of them.
@Suite struct FieldKeyTests {
    @Test func everyKeyNamesAFieldAndEveryFieldHasAKey() {
        let schemaFields = Set(EntityKind.allCases.flatMap { $0.schema.fields.map(\.name) })
        let keys = Set(FieldKey.all.map(\.rawValue))
        #expect(keys == schemaFields)
        #expect(keys.count == FieldKey.all.count)  // no key listed twice
    }
}
