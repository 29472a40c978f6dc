import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica
import KasvuRPC

struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "A client as a case worker reads it.",
        subcommands: [JourneyCommand.self]
    )

    struct JourneyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "journey",
            abstract: "Everything this replica knows about a client, as one timeline, oldest first.",
            discussion: "The same as client/journey over kasvu rpc; --format json prints its answer."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @OptionGroup var replica: ReplicaOptions

        @Option(help: "The client's id.")
        var id: String

        @Option(help: "text (for people) or json.")
        var format: Format = .text

        func run() async throws {
            let journey: Journey
            do { journey = try await replica.openAuthorized(for: "client/journey").journey(clientID: id) } catch let error as KasvuError {
                throw CLIError(error)
            }
            switch format {
            case .json: print(journey.jsonText)
            case .text: print(Self.text(journey))
            }
        }

        /// One line per step: the day, what happened, its details, and who.
        static func text(_ journey: Journey) -> String {
            let client = journey.client
            let name = [client["firstName"].stringValue, client["lastName"].stringValue, client["name"].stringValue].compactMap { $0 }.joined(separator: " ")
            var lines = ["\(name) (\(client["clientType"].stringValue ?? "person"), \(client.id))"]
            for step in journey.steps {
                let day = step.date
                let details = step.details.filter { $0.key != "providerId" }.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value.stringValue ?? $0.value.intValue.map(String.init) ?? "\($0.value)")" }.joined(separator: ", ")
                let who = step.user.map { "\($0)\(step.byThisReplica ? " (this replica)" : "")" } ?? (step.byThisReplica ? "this replica" : "replica \(step.actor.rawValue.prefix(8))")
                lines.append("\(day)  \(step.event.replacingOccurrences(of: "_", with: " "))\(details.isEmpty ? "" : ": \(details)")  — \(who)")
            }
            for conflict in journey.conflicts {
                lines.append("open conflict: \(conflict.kind.rawValue) \(conflict.id) \(conflict.conflict.field) (\(conflict.conflict.kind.rawValue))")
            }
            return lines.joined(separator: "\n")
        }
    }
}
