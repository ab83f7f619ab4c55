import Foundation
import JSON

/// How many servers this controller can hold, for `/status` and a warning at reload: the
/// descriptor limit (raised to its hard limit at start) and the start window.
struct Capacity: Sendable {
    /// `RLIMIT_NOFILE` after the raise.
    var descriptorLimit: Int
    var startWindow: Int

    /// Descriptors the controller holds per stdio server: its stdin, stdout and stderr pipes.
    static let descriptorsPerServer = 3
    /// Descriptors kept for HTTP clients, files, inotify and the event loops.
    static let reserve = 1024

    /// Stdio servers the descriptor limit allows beside the reserve.
    var serversAllowed: Int { max(0, (descriptorLimit - Capacity.reserve) / Capacity.descriptorsPerServer) }

    /// Descriptors open now (`/proc/self/fd`); nil where it cannot be read.
    static func openDescriptors() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map(\.count)
    }

    func json(startsWaiting: Int) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("descriptor_limit", .int(descriptorLimit))]
        if let open = Capacity.openDescriptors() { pairs.append(("descriptors_open", .int(open))) }
        pairs += [
            ("descriptors_per_server", .int(Capacity.descriptorsPerServer)), ("servers_allowed", .int(serversAllowed)),
            ("start_window", .int(startWindow)), ("starts_waiting", .int(startsWaiting)),
        ]
        return .object(pairs)
    }
}
