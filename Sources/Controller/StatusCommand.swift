import Desired
import Foundation
import JSON

/// `controller status [--url URL]` and `controller health [--url URL]`: a running controller's
/// servers as a table, and its readiness as an exit status (0 only when ready).
enum StatusCommand {
    static let help = """
        usage: controller status [--root DIR] [--env NAME] [--url URL]
               controller health [--root DIR] [--env NAME] [--url URL]

        status: a running controller's servers, phases, restarts and last exits.
        health: /readyz as an exit status: 0 ready, 1 not ready, 2 unreachable.
        The URL defaults to the listen address of the files' config.
        """

    static func run(_ command: String, _ arguments: [String]) async -> Int32 {
        var arguments = Arguments(arguments)
        if arguments.wantsHelp() {
            Output.print(help)
            return 0
        }
        let client: AdminClient
        do {
            let workspace = try CommandRouter.workspace(&arguments)
            let url = try arguments.option("--url")
            try arguments.finish()
            client = AdminClient.resolve(url: url, workspace: workspace, process: Environment.process())
        } catch {
            Output.error("controller \(command): \(error)\n\n\(help)")
            return 2
        }
        do {
            if command == "health" {
                let (status, body) = try await client.get("/readyz")
                Output.print(body)
                return status == 200 ? 0 : 1
            }
            let (status, body) = try await client.get("/status")
            guard status == 200, let json = try? JSONParser.parse(body) else {
                Output.error("controller status: /status answered \(status): \(body)")
                return 2
            }
            Output.print(table(json))
            return 0
        } catch {
            Output.error("controller \(command): \(error)")
            return 2
        }
    }

    static func table(_ json: JSONValue) -> String {
        var rows = [["SERVER", "DESIRED", "PHASE", "INSTANCES", "STARTS", "EXITS", "DETAIL"]]
        for server in json["servers"]?.arrayValue ?? [] {
            let instances = server["instances"]?.arrayValue ?? []
            let detail =
                server["hold"]?["reason"]?.stringValue ?? instances.last?["reason"]?.stringValue
                ?? server["last_exit"]?["reason"]?.stringValue.map { "last exit: \($0)" } ?? ""
            rows.append([
                server["name"]?.stringValue ?? "?", server["desired"]?.stringValue ?? "", server["phase"]?.stringValue ?? "",
                String(instances.count), String(server["starts"]?.intValue ?? 0), String(server["exits"]?.intValue ?? 0), detail,
            ])
        }
        let widths = (0..<rows[0].count - 1).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index < widths.count ? cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0) : cell
            }
            .joined()
        }.joined(separator: "\n")
    }
}
