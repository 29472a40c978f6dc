/// A problem with one input field: which field and why.
///
/// ```swift
/// FieldError(field: "hetu", message: "wrong check character: expected T")
/// ```
public struct FieldError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The field's public (camelCase) name, or a dotted path such as `set.hetu`.
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// The same error reported under a parent path (`hetu` → `set.hetu`).
    public func nested(in parent: String) -> FieldError {
        FieldError(field: parent.isEmpty ? field : "\(parent).\(field)", message: message)
    }

    public var description: String { "\(field): \(message)" }
}

/// A domain or sync error with a stable numeric code and a stable snake_case kind.
///
/// Codes 1000–1999 are registry errors, 2000–2999 sync errors. The JSON-RPC layer turns
/// them into error responses with `data.kind` (and `data.errors` for field problems);
/// nothing below that layer knows about JSON-RPC.
///
/// ```swift
/// throw KasvuError.notFound(entity: "client", id: id)
/// ```
public struct KasvuError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable kinds and their codes. Codes never change once published.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case validationFailed = "validation_failed"
        case notFound = "not_found"
        case invalidTransition = "invalid_transition"
        case capacityExceeded = "capacity_exceeded"
        case permissionDenied = "permission_denied"
        case alreadyExists = "already_exists"
        case storageFailed = "storage_failed"
        case replicaNotInitialized = "replica_not_initialized"
        /// A storage error that retrying will not fix (a broken constraint, corruption, a full disk).
        case storageFault = "storage_fault"
        /// A person with that henkilötunnus is already registered.
        case duplicateIdentity = "duplicate_identity"
        /// The pilot area requires a completed multi-professional assessment before this referral.
        case assessmentRequired = "assessment_required"
        case syncUnreachable = "sync_unreachable"
        case syncUnauthorized = "sync_unauthorized"
        case replicaRewound = "replica_rewound"
        case clockSkew = "clock_skew"
        case schemaMismatch = "schema_mismatch"
        /// The central server is at its limit of concurrent syncs: retry after `Retry-After`.
        case syncBusy = "sync_busy"
        /// The request body arrived too slowly.
        case requestTimeout = "request_timeout"
        /// A sync made no progress (no round trip completed) within its timeout.
        case syncTimeout = "sync_timeout"

        public var code: Int {
            switch self {
            case .validationFailed: 1001
            case .notFound: 1002
            case .invalidTransition: 1003
            case .capacityExceeded: 1004
            case .permissionDenied: 1005
            case .alreadyExists: 1006
            case .storageFailed: 1007
            case .replicaNotInitialized: 1008
            case .storageFault: 1009
            case .duplicateIdentity: 1010
            case .assessmentRequired: 1011
            case .syncUnreachable: 2001
            case .syncUnauthorized: 2002
            case .replicaRewound: 2003
            case .clockSkew: 2004
            case .schemaMismatch: 2005
            case .syncBusy: 2006
            case .requestTimeout: 2007
            case .syncTimeout: 2008
            }
        }

        /// What the error means for a caller, as the API catalogue documents it.
        public var summary: String {
            switch self {
            case .validationFailed: "A field value is invalid; data.errors lists {field, message}."
            case .notFound: "No live record with that id."
            case .invalidTransition: "The referral state machine does not allow that transition."
            case .capacityExceeded: "The provider has no free place."
            case .permissionDenied: "The replica's role may not do that."
            case .alreadyExists: "A record with that id exists, or the replica path is already initialised."
            case .storageFailed: "The database was busy or locked; nothing was written; retry."
            case .replicaNotInitialized: "The database is not a Kasvu replica."
            case .storageFault: "SQLite reported an error retrying will not fix (a broken constraint, corruption, a full disk); nothing was written."
            case .duplicateIdentity: "A person with that henkilötunnus is already registered; data.errors names the existing client."
            case .assessmentRequired: "The pilot area's assessment gate applies to the client (risk group or marked for assessment): complete a multi-professional assessment with outcome direct_referral or service_manager first."
            case .syncUnreachable: "The central server could not be reached."
            case .syncUnauthorized: "The central server refused the replica's token."
            case .replicaRewound: "The replica's actor counter went backwards (restored backup or copied file)."
            case .clockSkew: "A timestamp is more than 2 minutes ahead of the central clock."
            case .schemaMismatch: "The peers' schema versions are incompatible."
            case .syncBusy: "The central server is serving as many syncs as it allows; retry shortly."
            case .requestTimeout: "The request body reached the central server too slowly."
            case .syncTimeout: "No round trip of the sync completed within its timeout (the message says what it was waiting for); nothing was lost, sync again."
            }
        }
    }

    public var kind: Kind
    public var message: String
    /// Field-level details, for `validation_failed`.
    public var fieldErrors: [FieldError]

    public var code: Int { kind.code }

    public init(_ kind: Kind, _ message: String, fieldErrors: [FieldError] = []) {
        self.kind = kind
        self.message = message
        self.fieldErrors = fieldErrors
    }

    public var description: String { "\(kind.rawValue) (\(code)): \(message)" }

    public static func validationFailed(_ errors: [FieldError]) -> KasvuError {
        let summary = errors.map(\.description).joined(separator: "; ")
        return KasvuError(.validationFailed, "invalid input: \(summary)", fieldErrors: errors)
    }

    public static func validationFailed(field: String, _ message: String) -> KasvuError {
        validationFailed([FieldError(field: field, message: message)])
    }

    public static func notFound(entity: String, id: String) -> KasvuError {
        KasvuError(.notFound, "no \(entity) with id \(id)")
    }
}
