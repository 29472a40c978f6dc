/// The `CURLOPT_NOPROXY` value: the environment's own exclusions plus loopback.
///
/// Setting `CURLOPT_NOPROXY` makes libcurl ignore the `no_proxy` environment
/// variable, so its entries are carried over here; `http_proxy`, `https_proxy`
/// and `all_proxy` keep working as libcurl reads them.
enum NoProxy {
    /// Never proxied: a proxy cannot reach our loopback, and a test server or a
    /// local sidecar must not depend on the environment. The CIDR entry needs
    /// libcurl 7.86+; older versions ignore it and still match the names.
    static let loopbackEntries = ["localhost", "127.0.0.1", "::1", "127.0.0.0/8"]

    /// - Parameter environment: looks up an environment variable; injectable for tests.
    static func list(environment: (String) -> String?) -> String {
        // libcurl's own lookup order: lowercase first.
        let inherited = (environment("no_proxy") ?? environment("NO_PROXY") ?? "")
        let entries = inherited.split(separator: ",").map { $0.filter { $0 != " " && $0 != "\t" } }
        // libcurl treats "*" as "no proxy for anything" only when it is the whole value.
        if entries.contains("*") { return "*" }
        return (entries.filter { !$0.isEmpty } + loopbackEntries).joined(separator: ",")
    }
}
