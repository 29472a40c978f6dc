import ArgumentParser
import KasvuSync

@main
struct Kasvu: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kasvu",
        abstract: "Offline-first case registry for Finland's growth-services pilots.",
        discussion: """
            Every office and provider works on a local SQLite replica; `kasvu rpc` lets editors and \
            scripts drive one over JSON-RPC 2.0 on stdin/stdout.
            """,
        version: KasvuRelease.version,
        subcommands: [Init.self, RPC.self, Sync.self, Recover.self, Central.self, ClientCommand.self, InvoiceCommand.self, Report.self, Import.self, Export.self, OpenRPC.self]
    )
}
