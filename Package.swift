// swift-tools-version:6.0
import PackageDescription

// Dependencies point downwards only:
//   kasvu → KasvuRPC → (JSONRPC, KasvuReplica) → KasvuSync → (KasvuDomain, JSONBytes)
//   kasvu → (KasvuCentral, KasvuPostgres) → KasvuSQL
//   kasvu → KasvuDashboard → (KasvuCentral, KasvuReplica)
// See Sources/README.md for one line per module.
let package = Package(
    name: "Kasvu",
    // macOS 15 for Synchronization.Mutex, the one lock type of the code (Linux is the target).
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kasvu", targets: ["kasvu"]),
        .executable(name: "kasvu-simulate", targets: ["kasvu-simulate"]),
        .executable(name: "kasvu-load", targets: ["kasvu-load"]),
        .library(name: "KasvuDomain", targets: ["KasvuDomain"]),
        .library(name: "JSONBytes", targets: ["JSONBytes"]),
        .library(name: "KasvuSync", targets: ["KasvuSync"]),
        .library(name: "KasvuReplica", targets: ["KasvuReplica"]),
        .library(name: "JSONRPC", targets: ["JSONRPC"]),
        .library(name: "KasvuRPC", targets: ["KasvuRPC"]),
        .library(name: "KasvuCentral", targets: ["KasvuCentral"]),
        .library(name: "KasvuDashboard", targets: ["KasvuDashboard"]),
        .library(name: "KasvuCurl", targets: ["KasvuCurl"]),
        .library(name: "KasvuSQL", targets: ["KasvuSQL"]),
        .library(name: "KasvuPostgres", targets: ["KasvuPostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        .target(name: "KasvuDomain", resources: [
            .copy("Resources/municipalities.csv"),
            .copy("Resources/profiling-model.json"),
            .copy("Resources/tariff.json"),
            .copy("Resources/assessment-gate.json"),
        ]),
        // The one strict JSON reader and writer, for the sync wire format and JSON-RPC alike.
        .target(name: "JSONBytes"),
        .target(name: "KasvuSync", dependencies: ["KasvuDomain", "JSONBytes"]),
        // What the replica and the central store share about storage: files with owner-only
        // permissions from the first instant, SQLite errors that keep their cause.
        .target(name: "KasvuStorage", dependencies: ["KasvuDomain", "KasvuSQL", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "KasvuReplica", dependencies: [
            "KasvuDomain", "KasvuSync", "KasvuStorage",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "KasvuCurl", dependencies: ["CCurl", "KasvuDomain", "KasvuSync"]),
        // The few statements the central store needs, spoken to SQLite or PostgreSQL alike.
        .target(name: "KasvuSQL"),
        // KasvuSQL on PostgreSQL (postgres-nio): URLs, a connection pool, transactions.
        .target(name: "KasvuPostgres", dependencies: [
            "KasvuSQL",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "KasvuCentral", dependencies: [
            "KasvuDomain", "KasvuSync", "KasvuStorage", "KasvuSQL", "JSONBytes",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The central office's web dashboard, served by `kasvu central serve` beside the sync API:
        // pages computed by the replica's report code over an admin replica kept in step in process.
        .target(name: "KasvuDashboard", dependencies: [
            "KasvuDomain", "KasvuSync", "KasvuReplica", "KasvuCentral",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], resources: [.copy("Templates"), .copy("Static")]),
        .target(name: "JSONRPC", dependencies: ["JSONBytes", .product(name: "Logging", package: "swift-log")]),
        // Every method declared once (Methods/); the OpenRPC catalogue is generated from them.
        .target(
            name: "KasvuRPC",
            dependencies: ["JSONRPC", "KasvuDomain", "KasvuSync", "KasvuReplica"]
        ),
        // Deterministic fault-injection simulation of the real replica and central-store code.
        .target(name: "KasvuSimulator", dependencies: [
            "KasvuDomain", "KasvuSync", "KasvuReplica", "KasvuCentral", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .executableTarget(name: "kasvu-simulate", dependencies: [
            "KasvuSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The load generator: many simulated replicas in one process against one `kasvu central serve`.
        .executableTarget(name: "kasvu-load", dependencies: [
            "KasvuDomain", "KasvuSync", "KasvuReplica", "KasvuCentral", "KasvuCurl",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "kasvu", dependencies: [
            "JSONRPC", "KasvuRPC", "KasvuReplica", "KasvuCentral", "KasvuDashboard", "KasvuPostgres", "KasvuCurl", "KasvuSync", "KasvuDomain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Helpers shared by the test targets: temporary directories, seeded randomness, the
        // shared domain data, the path of the built `kasvu` binary.
        .target(name: "KasvuTestSupport", dependencies: ["KasvuDomain"], path: "Tests/KasvuTestSupport"),
        .testTarget(name: "KasvuDomainTests", dependencies: ["KasvuDomain", "KasvuTestSupport"]),
        .testTarget(name: "KasvuSyncTests", dependencies: ["KasvuSync", "JSONBytes", "KasvuTestSupport"]),
        .testTarget(name: "KasvuReplicaTests", dependencies: [
            "KasvuReplica", "KasvuStorage", "KasvuTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "KasvuTestSupport"]),
        .testTarget(name: "JSONBytesTests", dependencies: ["JSONBytes", "JSONRPC", "KasvuSync"]),
        // The end-to-end tests run the `kasvu` binary: depending on it makes a bare `swift test`
        // build it first instead of running a stale one.
        .testTarget(name: "KasvuEndToEndTests", dependencies: ["KasvuRPC", "JSONRPC", "KasvuReplica", "KasvuTestSupport", "kasvu"]),
        .testTarget(name: "KasvuSimulatorTests", dependencies: ["KasvuSimulator", "KasvuTestSupport"]),
        .testTarget(name: "KasvuPostgresTests", dependencies: ["KasvuPostgres", "KasvuSQL", "KasvuTestSupport"]),
        .testTarget(name: "KasvuCurlTests", dependencies: ["KasvuCurl", "KasvuTestSupport"]),
        // The central server's routes in process, through Hummingbird's test client.
        .testTarget(name: "KasvuCentralTests", dependencies: [
            "KasvuCentral", "KasvuPostgres", "KasvuSync", "KasvuDomain", "KasvuReplica", "KasvuTestSupport", "KasvuStorage",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The dashboard's parts: tables, charts, sessions, languages (its pages over HTTP and in
        // Chromium are in KasvuSyncEndToEndTests, against the real binary).
        .testTarget(name: "KasvuDashboardTests", dependencies: ["KasvuDashboard", "KasvuDomain", "KasvuReplica"]),
        .testTarget(
            name: "KasvuSyncEndToEndTests",
            dependencies: [
                "KasvuCurl", "KasvuReplica", "KasvuCentral", "KasvuPostgres", "KasvuSQL", "KasvuStorage", "KasvuTestSupport", "JSONBytes", "JSONRPC", "kasvu",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
