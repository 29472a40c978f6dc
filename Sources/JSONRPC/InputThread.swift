import Foundation

/// Reads frames on a dedicated thread and delivers them as an async stream.
///
/// `read(2)` blocks until the peer sends something, possibly forever; doing
/// that on Swift's cooperative pool would pin one of its few threads (two on
/// a two-core machine). A plain `Thread` can block at no cost to anyone.
enum InputThread {
    /// Starts the thread. The stream finishes at end of input; if the
    /// consumer stops listening first, the thread stops after its current
    /// read returns.
    static func frames(from descriptor: Int32, maxMessageBytes: Int) -> AsyncStream<Frame> {
        // Unbounded on purpose: reading ahead of the executor is what lets a
        // `$/cancelRequest` overtake the long request it targets. Memory is
        // bounded by what the client chooses to send.
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self, bufferingPolicy: .unbounded)
        let thread = Thread {
            var reader = MessageReader(fileDescriptor: descriptor, maxMessageBytes: maxMessageBytes)
            while let frame = reader.next() {
                if case .terminated = continuation.yield(frame) {
                    break
                }
            }
            continuation.finish()
        }
        thread.name = "JSONRPC input"
        thread.start()
        return stream
    }
}
