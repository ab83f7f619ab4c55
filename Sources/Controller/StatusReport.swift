import Actual
import Desired
import Foundation
import JSON
import Metering
import Reconciler

/// The outcome of the last config (re)load, for `/status`, metrics and the audit trail.
struct ReloadRecord: Sendable {
    var at: Date
    var successful: Bool
    /// Errors and warnings, as `file:line:col: message` lines.
    var problems: [String]
    /// Files that are invalid and run on their last good content.
    var keptLastGood: [String]
}

/// What `/status` and `/readyz` say, computed from values only (no I/O).
enum StatusReport {
    /// Ready exactly when every enabled, runnable server has a ready process; otherwise which
    /// are not, and why.
    static func readiness(desired: DesiredState, actual: ActualState, holds: [String: Hold]) -> [(String, String)] {
        desired.servers.keys.sorted().compactMap { name in
            let instances = actual.servers[name]?.instances ?? []
            if instances.contains(where: { $0.phase == .ready }) { return nil }
            if let hold = holds[name] { return (name, hold.description) }
            if let newest = instances.last { return (name, newest.phase.rawValue + (newest.reason.map { ": \($0)" } ?? "")) }
            if let exit = actual.servers[name]?.lastExit { return (name, "not running: \(exit.reason)") }
            return (name, "not started yet")
        }
    }

    static func json(
        desired: DesiredState, actual: ActualState, holds: [String: Hold], reload: ReloadRecord, generation: Int, now: Duration,
        fingerprint: SpecFingerprint, capacity: JSONValue = .null
    ) -> JSONValue {
        // Hashes go out keyed: they cover secret values.
        let published = { (hash: String) -> JSONValue in .string(fingerprint.apply(hash)) }
        let names = Set(desired.servers.keys).union(desired.skipped.keys).union(actual.servers.keys).sorted()
        let servers: [JSONValue] = names.map { name in
            var pairs: [(String, JSONValue)] = [("name", .string(name))]
            if let spec = desired.servers[name] {
                pairs.append(("desired", "run"))
                pairs.append(("process_hash", published(spec.processHash)))
                pairs.append(("policy_hash", published(spec.policyHash)))
            } else if let skipped = desired.skipped[name] {
                pairs.append(("desired", .string("skipped: \(skipped)")))
            } else {
                pairs.append(("desired", "removed"))
            }
            let server = actual.servers[name]
            let instances = server?.instances ?? []
            pairs.append(("phase", .string(instances.last?.phase.rawValue ?? "stopped")))
            if let hold = holds[name] {
                var holdPairs: [(String, JSONValue)] = [("reason", .string(hold.description))]
                if let until = hold.until { holdPairs.append(("seconds_left", .double(max(0, (until - now).milliseconds / 1000)))) }
                pairs.append(("hold", .object(holdPairs)))
            }
            pairs.append(("instances", .array(instances.map { self.instance($0, published) })))
            pairs.append(("starts", .int(server?.startCount ?? 0)))
            pairs.append(("restarts", .int(server?.restarts ?? 0)))
            pairs.append(("exits", .int(server?.exits ?? 0)))
            if let exit = server?.lastExit { pairs.append(("last_exit", self.exit(exit))) }
            return .object(pairs)
        }
        let reloadJSON: JSONValue = .object([
            ("at", .string(Logger.timestamp(reload.at))), ("successful", .bool(reload.successful)),
            ("problems", .array(reload.problems.map { .string($0) })), ("kept_last_good", .array(reload.keptLastGood.map { .string($0) })),
        ])
        return .object([
            ("generation", .int(generation)), ("last_reload", reloadJSON), ("capacity", capacity), ("servers", .array(servers)),
        ])
    }

    private static func instance(_ instance: InstanceSnapshot, _ published: (String) -> JSONValue) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("id", .string(instance.id.description)), ("phase", .string(instance.phase.rawValue)),
            ("since", .string(Logger.timestamp(instance.since))), ("started_at", .string(Logger.timestamp(instance.startedAt))),
        ]
        if let pid = instance.pid { pairs.append(("pid", .int(Int(pid)))) }
        pairs.append(("process_hash", published(instance.processHash)))
        pairs.append(("policy_hash", published(instance.policyHash)))
        pairs.append(("policies", PolicySummary.json(instance.spec)))
        if let reason = instance.reason { pairs.append(("reason", .string(reason))) }
        if let identity = instance.identity {
            var server: [(String, JSONValue)] = [
                ("era", .string(identity.era.rawValue)), ("protocol_version", .string(identity.protocolVersion)),
            ]
            if let name = identity.name { server.append(("name", .string(name))) }
            if let version = identity.version { server.append(("version", .string(version))) }
            pairs.append(("server", .object(server)))
        }
        if let tools = instance.toolCount { pairs.append(("tools", .int(tools))) }
        if let probe = instance.lastProbe {
            var probePairs: [(String, JSONValue)] = [
                ("at", .string(Logger.timestamp(probe.at))), ("ok", .bool(probe.succeeded)),
                ("latency_ms", .double((probe.latency.milliseconds * 10).rounded() / 10)),
            ]
            if let error = probe.error { probePairs.append(("error", .string(error))) }
            pairs.append(("last_probe", .object(probePairs)))
        }
        pairs.append(("consecutive_failures", .int(instance.consecutiveFailures)))
        pairs.append(("protocol_errors", .int(instance.protocolErrors)))
        if let stats = instance.stats {
            pairs.append(("cpu_seconds", .double((stats.cpuSeconds * 100).rounded() / 100)))
            pairs.append(("rss_bytes", .int(stats.rssBytes)))
        }
        return .object(pairs)
    }

    private static func exit(_ record: ExitRecord) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("instance", .string(record.instance.description)), ("at", .string(Logger.timestamp(record.at))),
            ("reason", .string(record.reason)), ("requested", .bool(record.requested)),
            ("uptime_seconds", .double((record.uptime.milliseconds / 100).rounded() / 10)),
        ]
        if let code = record.status?.code { pairs.append(("code", .int(Int(code)))) }
        if let signal = record.status?.signal { pairs.append(("signal", .int(Int(signal)))) }
        return .object(pairs)
    }
}
