/// A top-level message or batch element, validated against JSON-RPC 2.0.
enum IncomingMessage: Equatable {
    /// A call that expects a response.
    case request(id: RequestID, method: String, params: JSONValue?)
    /// A call without `id`; it never gets a response.
    case notification(method: String, params: JSONValue?)
    /// Not a valid request object. `id` is kept when it was itself valid so
    /// the -32600 error can still be matched by the client.
    case invalid(id: RequestID?, reason: String)

    init(_ value: JSONValue) {
        guard case .object(let members) = value else {
            self = .invalid(id: nil, reason: "Invalid Request: expected an object")
            return
        }
        let rawID = members["id"]
        let id = rawID.flatMap(RequestID.init(jsonValue:))
        func invalid(_ reason: String) -> IncomingMessage {
            .invalid(id: id, reason: "Invalid Request: \(reason)")
        }

        if rawID != nil, id == nil {
            // Includes `null`: JSON-RPC discourages it and LSP forbids it, and
            // a null id could not be told apart from "no id" in replies.
            self = invalid(#""id" must be an integer or a string"#)
            return
        }
        guard members["jsonrpc"] == .string("2.0") else {
            self = invalid(#""jsonrpc" must be "2.0""#)
            return
        }
        guard case .string(let method)? = members["method"] else {
            self = invalid(members["method"] == nil ? #""method" is missing"# : #""method" must be a string"#)
            return
        }
        let params = members["params"]
        switch params {
        case nil, .object?, .array?:
            break
        default:
            self = invalid(#""params" must be an object or an array"#)
            return
        }
        if let id {
            self = .request(id: id, method: method, params: params)
        } else {
            self = .notification(method: method, params: params)
        }
    }
}
