import Dispatch
import Logging

/// Serialises blocking writes to the output descriptor.
///
/// `write(2)` can block for as long as the peer does not read, so it must
/// not run on Swift's cooperative pool (a few stalled writes could starve
/// every task in the process). A private serial queue owns all writes, which
/// also guarantees that messages never interleave: they reach the descriptor
/// in exactly the order they were submitted.
final class OutputWriter: Sendable {
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "JSONRPC.OutputWriter")
    private let logger: Logger

    init(descriptor: Int32, logger: Logger) {
        self.descriptor = descriptor
        self.logger = logger
    }

    /// Writes `bytes` completely and returns once they have been handed to
    /// the kernel, which gives callers natural back-pressure.
    func write(_ bytes: [UInt8]) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [descriptor, logger] in
                if let failure = SystemIO.writeAll(descriptor, bytes) {
                    // The peer has most likely gone away; there is nobody to
                    // report to but the log, and input EOF will end the server.
                    logger.error("JSON-RPC output write failed", metadata: ["errno": "\(failure)"])
                }
                continuation.resume()
            }
        }
    }

    /// Frames and writes one message.
    func send(_ message: JSONValue, framing: Framing) async {
        await write(MessageReader.encode(message.serialized(), framing: framing))
    }

    /// Returns once every write submitted before this call has finished.
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                continuation.resume()
            }
        }
    }
}
