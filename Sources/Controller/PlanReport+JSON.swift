import JSON
import Reconciler

/// `PlanReport` on the wire (`POST /plan`'s answer) and in `controller diff --format json`.
extension PlanReport {
    var json: JSONValue {
        .object([
            (
                "changes",
                .array(
                    changes.map { change in
                        var pairs: [(String, JSONValue)] = [("action", .string(change.action)), ("server", .string(change.server))]
                        if let instance = change.instance { pairs.append(("instance", .string(instance))) }
                        pairs.append(("reason", .string(change.reason)))
                        return .object(pairs)
                    })
            ),
            (
                "others",
                .array(
                    others.map { .object([("server", .string($0.server)), ("kind", .string($0.kind)), ("detail", .string($0.detail))]) })
            ),
            ("summary", .string(summary)),
        ])
    }

    /// The report in `json` (as `json` wrote it), or nil when it is not one.
    init?(json: JSONValue) {
        guard let changes = json["changes"]?.arrayValue, let others = json["others"]?.arrayValue else { return nil }
        var report = PlanReport(changes: [], others: [])
        for change in changes {
            guard let action = change["action"]?.stringValue, let server = change["server"]?.stringValue,
                let reason = change["reason"]?.stringValue
            else { return nil }
            report.changes.append(Change(action: action, server: server, instance: change["instance"]?.stringValue, reason: reason))
        }
        for entry in others {
            guard let server = entry["server"]?.stringValue, let kind = entry["kind"]?.stringValue,
                let detail = entry["detail"]?.stringValue
            else { return nil }
            report.others.append(Entry(server: server, kind: kind, detail: detail))
        }
        self = report
    }
}
