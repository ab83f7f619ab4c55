// Spawn benchmark (issue 4): starts COUNT `mcp-demo` servers under the supervisor, waits until
// all are ready, idles IDLE seconds with health probes running, then stops them all. Prints the
// time to all-ready, this process's CPU (% of one core) and RSS while idle, and the stop time.
// This process is the controller's supervision core (Desired + Actual) without the HTTP layer.
// Usage: SpawnBench [COUNT] [IDLE_SECONDS] [PROBE_INTERVAL]
import Actual
import Desired
import Foundation
import Metering

let arguments = CommandLine.arguments.dropFirst()
let count = arguments.first.flatMap { Int($0) } ?? 200
let idle = arguments.dropFirst().first.flatMap { Int($0) } ?? 30
let interval = arguments.dropFirst(2).first ?? "15s"

let root = NSTemporaryDirectory() + "omni-bench-spawn-" + UUID().uuidString
let files = FileManager.default
try files.createDirectory(atPath: root + "/servers", withIntermediateDirectories: true)
try files.createDirectory(atPath: root + "/config", withIntermediateDirectories: true)
defer { try? files.removeItem(atPath: root) }
var features = "features:\n"
for index in 0..<count {
    let name = String(format: "bench-%03d", index)
    let manifest = """
        name: \(name)
        description: spawn benchmark server \(index)
        transport: stdio
        command: [mcp-demo]
        health: { interval: \(interval), timeout: 2s, failure_threshold: 3, startup_timeout: 60s }
        """
    try Data(manifest.utf8).write(to: URL(fileURLWithPath: root + "/servers/\(name).yaml"))
    features += "  \(name): { enabled: true }\n"
}
try Data(features.utf8).write(to: URL(fileURLWithPath: root + "/config/default.yaml"))
let load = Workspace(root: root, envName: "").load(Environment.process())
guard let state = load.state, state.servers.count == count else {
    print("bench: manifests did not load: \(load.diagnostics.map(\.message))")
    try? files.removeItem(atPath: root)
    exit(1)
}

/// This process's CPU seconds and resident bytes.
func usage() -> (cpu: Double, rss: Int) {
    let stats = ProcessStats.read(pid: getpid())
    return (stats?.cpuSeconds ?? 0, stats?.rssBytes ?? 0)
}

let supervisor = Supervisor(options: SupervisorOptions(root: root, environment: Environment.process()))
let clock = SystemClock()

/// Consumes events until `count` servers are ready; nil when one fails instead.
func waitForReady(_ events: AsyncStream<ActualEvent>) async -> Int? {
    var ready = 0
    for await event in events {
        switch event {
        case .ready: ready += 1
        case .exited, .spawnFailed, .startFailed: return nil
        default: break
        }
        if ready == count { return ready }
    }
    return nil
}

let start = clock.now
for spec in state.servers.values.sorted(by: { $0.name < $1.name }) { await supervisor.start(spec) }
guard await waitForReady(supervisor.events) != nil else {
    print("bench: a server failed to start")
    await supervisor.stopAll(reason: "benchmark failed")
    try? files.removeItem(atPath: root)
    exit(1)
}
let toReady = clock.now - start

// Idle: probes run, nothing else. Events buffer in the stream meanwhile (a few per probe).
let before = usage()
try await Task.sleep(for: .seconds(idle))
let after = usage()
let cpuPercent = (after.cpu - before.cpu) / Double(idle) * 100
let snapshot = await supervisor.snapshot()
let stillReady = snapshot.instances.filter { $0.phase == .ready }.count
let probes = snapshot.instances.filter { $0.lastProbe?.succeeded == true }.count

let stopStart = clock.now
await supervisor.stopAll(reason: "benchmark done")
let toStop = clock.now - stopStart
let left = await supervisor.snapshot().instances.count

print(
    String(
        format: "servers %d | all ready %.2f s | idle %d s, probes every %@ (%d/%d ready, %d with a passing last probe): "
            + "controller CPU %.2f%% of a core, RSS %.1f MiB | stop all %.2f s | left running %d",
        count, toReady.milliseconds / 1000, idle, interval, stillReady, count, probes, cpuPercent, Double(after.rss) / 1_048_576,
        toStop.milliseconds / 1000, left))
