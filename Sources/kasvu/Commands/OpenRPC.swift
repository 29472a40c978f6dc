import ArgumentParser
import KasvuRPC

struct OpenRPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openrpc",
        abstract: "Print the OpenRPC catalogue of every JSON-RPC method.",
        discussion: """
            The catalogue is generated from the method declarations and the entity schemas; \
            `kasvu openrpc > Protocol/openrpc.json` refreshes the committed copy, which a test compares with this output.
            """
    )

    func run() throws {
        print(try ReplicaMethods.openRPCText(), terminator: "")
    }
}
