import KasvuDomain

/// A whole record state on the wire: which record, and everything known about it.
/// Pushes and pulls carry these; merging one is always safe to repeat.
public struct RecordEnvelope: Sendable, Hashable {
    public let entity: EntityKind
    public let id: String
    public let state: RecordState

    public init(entity: EntityKind, id: String, state: RecordState) {
        self.entity = entity
        self.id = id
        self.state = state
    }
}
