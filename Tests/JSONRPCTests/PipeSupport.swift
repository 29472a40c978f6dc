#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two ends of a `pipe(2)`.
struct PipePair: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        var descriptors: [Int32] = [-1, -1]
        let result = pipe(&descriptors)
        precondition(result == 0, "pipe(2) failed: \(errno)")
        readEnd = descriptors[0]
        writeEnd = descriptors[1]
    }
}

/// Blocking write of all bytes, retrying partial writes and EINTR.
func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                preconditionFailure("write(2) failed: \(errno)")
            }
        }
    }
}
