#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP port that takes connections (the kernel completes the handshake into the
/// backlog) and never answers: a central server that hangs.
public final class SilentListener {
    public let port: Int
    private let socketFD: Int32

    public init() throws {
        (socketFD, port) = try Self.listeningSocket(backlog: 16)
    }

    /// A TCP socket listening on 127.0.0.1 at a port the kernel picks.
    public static func listeningSocket(backlog: Int32) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SilentListenerError(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else { close(fd); throw SilentListenerError(step: "bind/listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    deinit { close(socketFD) }
}

public struct SilentListenerError: Error {
    public let step: String
}
