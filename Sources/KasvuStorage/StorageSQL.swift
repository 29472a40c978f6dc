import KasvuDomain

/// SQL fragments both stores build the same way. (Migrations stay literal SQL: they must not
/// change when these do.)
public enum StorageSQL {
    /// The JSON path of a field's winning value in a stored sync state: the first entry's value
    /// (entries are kept winner first; see `KasvuSync/Wire/RecordState+JSON.swift`).
    public static func winningValue(_ field: String) -> String { "$.f.\(field)[0][0]" }

    /// Referral states as a list of SQL literals: fixed names of the state machine, never input.
    public static func list(_ states: Set<ReferralState>) -> String {
        states.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
    }
}
