import KasvuDomain

/// A whole record state on the wire: which record, and everything known about it.
/// Pushes and pulls carry these; merging one is always safe to repeat.
public struct RecordEnvelope: Sendable, Hashable {
    public let entity: EntityKind
    public let id: String
    public let state: RecordState
    /// In a push only: the notes of the pusher's writes the state includes (``WriteNote``),
    /// for the central audit trail. Never sent to a replica.
    public var writes: [WriteNote]

    public init(entity: EntityKind, id: String, state: RecordState, writes: [WriteNote] = []) {
        self.entity = entity
        self.id = id
        self.state = state
        self.writes = writes
    }
}
