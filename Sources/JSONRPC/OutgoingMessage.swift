/// Builders for the messages the server writes.
enum OutgoingMessage {
    /// `{"jsonrpc":"2.0","id":…,"result":…}`
    static func response(id: RequestID, result: JSONValue) -> JSONValue {
        ["jsonrpc": "2.0", "id": id.jsonValue, "result": result]
    }

    /// `{"jsonrpc":"2.0","id":…,"error":{…}}`; `id` is `null` when the
    /// request's id could not be determined (parse errors, invalid requests).
    static func errorResponse(id: RequestID?, error: ResponseError) -> JSONValue {
        ["jsonrpc": "2.0", "id": id?.jsonValue ?? .null, "error": error.jsonValue]
    }

    /// `{"jsonrpc":"2.0","method":…,"params":…}`, omitting `params` for
    /// `.null` because JSON-RPC only allows structured params.
    static func notification(method: String, params: JSONValue) -> JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if !params.isNull {
            members["params"] = params
        }
        return .object(members)
    }
}
