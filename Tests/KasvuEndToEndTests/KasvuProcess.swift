import Foundation
import JSONRPC
import KasvuTestSupport
import Testing


/// A running `kasvu rpc` process driven over real pipes, as an editor or script would.
final class RPCProcess: @unchecked Sendable {
    // @unchecked: the reader state is touched only from `readQueue`, one read at a time, and
    // the process handles are immutable after init.
    let process = Process()
    private let stdin: FileHandle
    private let stdoutFD: Int32
    private let readQueue = DispatchQueue(label: "rpc-test-reader")
    private var reader: MessageReader
    private var nextID: Int64 = 1
    let stderrPipe = Pipe()

    init(db: String, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: KasvuBinary.path)
        process.arguments = ["rpc", "--db", db] + arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = stderrPipe
        try process.run()
        stdin = input.fileHandleForWriting
        stdoutFD = output.fileHandleForReading.fileDescriptor
        reader = MessageReader(fileDescriptor: stdoutFD)
        // Safety net against a hung server: never part of an assertion. A stuck read fails the
        // test with EOF instead of stalling CI.
        let process = self.process
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { process.terminate() } }
    }

    func send(_ text: String) { stdin.write(Data(text.utf8)) }

    func send(bytes: [UInt8]) { stdin.write(Data(bytes)) }

    func sendLine(_ json: String) { send(json + "\n") }

    func sendFramed(_ json: String) { send("Content-Length: \(json.utf8.count)\r\n\r\n" + json) }

    /// The next message the server wrote, with the framing it used; nil at end of output. A
    /// frame that is not JSON is an issue of the test (it must never pass for end of output).
    func receive() async -> (framing: Framing, message: JSONValue)? {
        let frame: (framing: Framing, bytes: [UInt8])? = await withCheckedContinuation { continuation in
            readQueue.async {
                switch self.reader.next() {
                case .message(let framing, let bytes)?: continuation.resume(returning: (framing, Array(bytes)))
                default: continuation.resume(returning: nil)
                }
            }
        }
        guard let frame else { return nil }
        guard let message = try? JSONValue.parse(frame.bytes) else {
            Issue.record("kasvu rpc wrote a frame that is not JSON: \(String(decoding: frame.bytes.prefix(200), as: UTF8.self))")
            return nil
        }
        return (frame.framing, message)
    }

    /// Everything the process wrote to stderr (after it exited).
    var standardError: String { String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }

    /// Sends one newline-framed request and returns its response.
    func call(_ method: String, _ params: JSONValue = .object([:])) async throws -> JSONValue {
        let id = nextID
        nextID += 1
        let request: JSONValue = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
        sendLine(request.jsonString)
        let response = try #require(await receive())
        #expect(response.message["id"] == .int(id))
        return response.message
    }

    /// Calls and returns `result`, recording an issue if the call failed.
    func result(_ method: String, _ params: JSONValue = .object([:])) async throws -> JSONValue {
        let response = try await call(method, params)
        guard let result = response["result"] else {
            Issue.record("\(method) failed: \(response.jsonString)")
            throw RPCFailure(response: response)
        }
        return result
    }

    func closeInput() { try? stdin.close() }

    /// Closes stdin and waits for a clean exit.
    func finish() async -> Int32 {
        closeInput()
        while await receive() != nil {}
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

struct RPCFailure: Error {
    let response: JSONValue
}

/// `kasvu init` of a central-office replica (`replica.sqlite`, id office-1) in `directory`, with
/// no central server: what the tests that drive `kasvu rpc` start from.
func initializedAdminReplica(in directory: TemporaryDirectory) throws -> String {
    let db = directory.path("replica.sqlite")
    let created = try KasvuBinary.run(["init", "--db", db, "--replica-id", "office-1", "--role", "admin"])
    #expect(created.status == 0, "kasvu init failed: \(created.stderr)")
    return db
}
