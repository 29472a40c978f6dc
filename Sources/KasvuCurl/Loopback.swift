#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loopback hosts are the one place plain HTTP is allowed and proxies are never used.
enum Loopback {
    /// Whether `host` (as libcurl's URL parser returns it, IPv6 without brackets)
    /// names this machine: `localhost`, 127.0.0.0/8, `::1` or `::ffff:127.x.y.z`.
    ///
    /// Names other than `localhost` are not resolved: a DNS answer could point
    /// anywhere, and libcurl itself hard-codes `localhost` to loopback (7.78+).
    static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" { return true }

        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in
                let prefix = bytes.prefix(10)
                guard prefix.allSatisfy({ $0 == 0 }) else { return false }
                if bytes[10] == 0, bytes[11] == 0 { // ::1
                    return bytes[12...14].allSatisfy { $0 == 0 } && bytes[15] == 1
                }
                return bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127 // ::ffff:127.x.y.z
            }
        }
        return false
    }
}
