#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over `read(2)` / `write(2)` that deal with the two
/// conditions every caller would otherwise have to repeat: `EINTR` (retry)
/// and `EAGAIN` on a descriptor someone made non-blocking (wait with `poll`
/// instead of spinning).
enum SystemIO {
    /// Reads up to `count` bytes. Returns the number read, 0 at end of input,
    /// or `nil` with `errno` describing the failure.
    static func read(_ descriptor: Int32, into pointer: UnsafeMutableRawPointer, count: Int) -> Int? {
        while true {
            let result = systemRead(descriptor, pointer, count)
            if result >= 0 {
                return result
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                waitUntilReady(descriptor, events: Int16(POLLIN))
            default:
                return nil
            }
        }
    }

    /// Writes all of `bytes`, continuing after partial writes.
    /// Returns `nil` on success, otherwise the `errno` value of the failure.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { buffer -> Int32? in
            var offset = 0
            while offset < buffer.count {
                let result = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if result > 0 {
                    offset += result
                    continue
                }
                if result == 0 {
                    // write(2) only returns 0 for a zero-length request; treat
                    // anything else as an I/O error rather than spinning.
                    return EIO
                }
                switch errno {
                case EINTR:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    waitUntilReady(descriptor, events: Int16(POLLOUT))
                default:
                    return errno
                }
            }
            return nil
        }
    }

    /// Blocks until `descriptor` is ready for `events` (or reports an error,
    /// which the caller's next system call will then surface).
    private static func waitUntilReady(_ descriptor: Int32, events: Int16) {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        while poll(&entry, 1, -1) < 0, errno == EINTR {}
    }

    private static func systemRead(_ descriptor: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, pointer, count)
        #elseif canImport(Musl)
        Musl.read(descriptor, pointer, count)
        #else
        Darwin.read(descriptor, pointer, count)
        #endif
    }

    private static func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(descriptor, pointer, count)
        #elseif canImport(Musl)
        Musl.write(descriptor, pointer, count)
        #else
        Darwin.write(descriptor, pointer, count)
        #endif
    }
}
