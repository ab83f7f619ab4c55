import Actual
import Foundation
import HTTP
import Metering
import Synchronization

/// The controller's Prometheus metrics, rendered in text format 0.0.4.
final class Metrics: Sendable {
    private struct State {
        var reconcile = LatencyHistogram()
        var reloadSuccessful = true
        var lastSuccess = Date().timeIntervalSince1970
        var reloads = 0
        var actions: [String: Int] = [:]
    }

    private let state = Mutex(State())
    let started = Date()

    func reconciled(_ duration: Duration) {
        state.withLock { $0.reconcile.observe(duration.milliseconds / 1000) }
    }

    func action(_ kind: String) {
        state.withLock { $0.actions[kind, default: 0] += 1 }
    }

    func reload(successful: Bool) {
        state.withLock { state in
            state.reloads += 1
            state.reloadSuccessful = successful
            if successful { state.lastSuccess = Date().timeIntervalSince1970 }
        }
    }

    /// The exposition: process, per-server and controller series. Per-server series cover the
    /// desired servers and those the supervisor still knows (`Supervisor.forget` drops the rest).
    func render(
        actual: ActualState, desired: Set<String>, probes: [String: ProbeTally.Server], http: HTTPServer.Stats? = nil,
        streams: Int = 0, droppedEvents: Int = 0
    ) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
            let text = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Metrics.escape($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(name)\(text) \(Metrics.number(value))\n"
        }
        let me = ProcessStats.read(pid: getpid())
        family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
        sample("process_cpu_seconds_total", [], me?.cpuSeconds ?? 0)
        family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        sample("process_resident_memory_bytes", [], Double(me?.rssBytes ?? 0))
        family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
        sample("process_start_time_seconds", [], started.timeIntervalSince1970.rounded())
        family("omni_build_info", "gauge", "Version of the controller (always 1).")
        sample("omni_build_info", [("version", MCPVersion.clientVersion)], 1)

        let names = desired.union(actual.servers.keys).sorted()
        family("omni_server_desired", "gauge", "1 when the server is enabled and runnable.")
        for name in names { sample("omni_server_desired", [("server", name)], desired.contains(name) ? 1 : 0) }
        family("omni_server_up", "gauge", "1 when the server has a ready process.")
        for name in names {
            let up = actual.servers[name]?.instances.contains { $0.phase == .ready } ?? false
            sample("omni_server_up", [("server", name)], up ? 1 : 0)
        }
        family("omni_server_phase", "gauge", "The phase of the server's newest process (one series per phase, 1 for the current).")
        let phases: [InstancePhase] = [.starting, .ready, .unhealthy, .draining, .stopped]
        for name in names {
            let current = actual.servers[name]?.instances.last?.phase ?? .stopped
            for phase in phases { sample("omni_server_phase", [("server", name), ("phase", phase.rawValue)], phase == current ? 1 : 0) }
        }
        family("omni_server_starts_total", "counter", "Processes started for the server.")
        for name in names { sample("omni_server_starts_total", [("server", name)], Double(actual.servers[name]?.startCount ?? 0)) }
        family("omni_server_restarts_total", "counter", "Processes started after an exit nobody asked for (crash or failed spawn).")
        for name in names { sample("omni_server_restarts_total", [("server", name)], Double(actual.servers[name]?.restarts ?? 0)) }
        family("omni_server_exits_total", "counter", "Processes of the server that ended (exits, stops and spawn failures).")
        for name in names { sample("omni_server_exits_total", [("server", name)], Double(actual.servers[name]?.exits ?? 0)) }
        family("omni_server_tools", "gauge", "Tools the server's newest ready process lists.")
        for name in names {
            if let tools = actual.servers[name]?.instances.last(where: { $0.phase == .ready })?.toolCount {
                sample("omni_server_tools", [("server", name)], Double(tools))
            }
        }
        family("omni_probe_failures_total", "counter", "Health checks that failed.")
        for (name, server) in probes.sorted(by: { $0.key < $1.key }) {
            sample("omni_probe_failures_total", [("server", name)], Double(server.failures))
        }
        family("omni_probe_duration_seconds", "histogram", "Health check round-trip time.")
        for (name, server) in probes.sorted(by: { $0.key < $1.key }) {
            render(server.latency, "omni_probe_duration_seconds", [("server", name)], sample)
        }
        family("omni_reconcile_duration_seconds", "histogram", "Time to plan and start one reconcile pass.")
        render(snapshot.reconcile, "omni_reconcile_duration_seconds", [], sample)
        family("omni_supervisor_events_dropped_total", "counter", "Process events dropped because their consumer fell behind.")
        sample("omni_supervisor_events_dropped_total", [], Double(droppedEvents))
        family("omni_actions_total", "counter", "Actions the executor started, by kind.")
        for kind in ["spawn", "replace", "update", "stop"] {
            sample("omni_actions_total", [("kind", kind)], Double(snapshot.actions[kind] ?? 0))
        }
        if let http {
            family("omni_http_connections", "gauge", "Client connections open on the HTTP listener.")
            sample("omni_http_connections", [], Double(http.open))
            family("omni_http_connections_accepted_total", "counter", "Client connections accepted.")
            sample("omni_http_connections_accepted_total", [], Double(http.accepted))
            family("omni_http_refused_total", "counter", "Connections or requests answered 503 because of the connection caps.")
            sample("omni_http_refused_total", [], Double(http.refused))
            family("omni_http_timeouts_total", "counter", "Connections closed because a request's head or body came too slowly.")
            sample("omni_http_timeouts_total", [], Double(http.timeouts))
            family("omni_http_slow_readers_total", "counter", "Connections dropped because the client did not read what was sent.")
            sample("omni_http_slow_readers_total", [], Double(http.slowReaders))
            family("omni_http_event_streams", "gauge", "Open /events streams.")
            sample("omni_http_event_streams", [], Double(streams))
        }
        family("controller_config_last_reload_successful", "gauge", "1 when the last config reload found no error.")
        sample("controller_config_last_reload_successful", [], snapshot.reloadSuccessful ? 1 : 0)
        family("controller_config_last_reload_success_timestamp_seconds", "gauge", "When the config was last loaded without error.")
        sample("controller_config_last_reload_success_timestamp_seconds", [], snapshot.lastSuccess.rounded())
        family("controller_config_reloads_total", "counter", "Config reloads (file changes, SIGHUP, resync).")
        sample("controller_config_reloads_total", [], Double(snapshot.reloads))
        return out
    }

    private func render(
        _ histogram: LatencyHistogram, _ name: String, _ labels: [(String, String)], _ sample: (String, [(String, String)], Double) -> Void
    ) {
        for (index, bound) in LatencyHistogram.buckets.enumerated() {
            sample(name + "_bucket", labels + [("le", Metrics.number(bound))], Double(histogram.counts[index]))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(
            of: "\n", with: "\\n")
    }
}
