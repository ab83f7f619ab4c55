import Desired
import Foundation

@testable import Actual
@testable import Reconciler

/// Builds desired and actual states in memory for planner tests.
enum World {
    /// A desired state from manifests (`name` → extra YAML lines), with `enabled` turned on.
    static func desired(_ servers: [String: String], enabled: Set<String>, environment: [String: String] = [:]) -> DesiredState {
        var manifests: [Manifest] = []
        for (name, extra) in servers.sorted(by: { $0.key < $1.key }) {
            let command = extra.contains("command:") ? "" : "command: [mcp-demo]\n"
            let yaml = "name: \(name)\ndescription: test server\ntransport: stdio\n" + command + extra
            let (manifest, problems) = ManifestReader.read(Array(yaml.utf8), file: "servers/\(name).yaml", stem: name)
            precondition(problems.isEmpty, "\(problems)")
            if let manifest { manifests.append(manifest) }
        }
        let features = "features:\n" + enabled.sorted().map { "  \($0): { enabled: true }" }.joined(separator: "\n") + "\n"
        let (layer, layerProblems) = ConfigLayers.read(Array((enabled.isEmpty ? "{}\n" : features).utf8), file: "config/default.yaml")
        precondition(layerProblems.isEmpty, "\(layerProblems)")
        let environment = Environment(environment)
        let (config, configProblems) = ConfigLayers.merge([layer].compactMap { $0 }, environment: environment)
        precondition(configProblems.isEmpty, "\(configProblems)")
        guard let config else { preconditionFailure("no config") }
        let (state, _) = DesiredState.build(config: config, manifests: manifests, environment: environment)
        return state
    }

    /// One spec on its own (`extra` YAML lines).
    static func spec(_ name: String, _ extra: String = "") -> ServerSpec {
        guard let spec = desired([name: extra], enabled: [name]).servers[name] else { preconditionFailure("no spec for \(name)") }
        return spec
    }

    static func instance(_ spec: ServerSpec, _ number: Int = 1, _ phase: InstancePhase = .ready, reason: String? = nil) -> InstanceSnapshot
    {
        InstanceSnapshot(
            id: InstanceID(name: spec.name, number: number), spec: spec, phase: phase, pid: Int32(1000 + number),
            processHash: spec.processHash, policyHash: spec.policyHash, since: Date(timeIntervalSince1970: 0),
            startedAt: Date(timeIntervalSince1970: 0), reason: reason, identity: nil, toolCount: nil, lastProbe: nil,
            consecutiveFailures: 0, protocolErrors: 0, stats: nil)
    }

    static func exit(_ spec: ServerSpec, at seconds: Int64, code: Int32? = 1, readyFor: Duration = .zero, number: Int = 1) -> ExitRecord {
        ExitRecord(
            instance: InstanceID(name: spec.name, number: number), processHash: spec.processHash, pid: 1, status: ExitStatus(code: code),
            at: Date(timeIntervalSince1970: 0), clock: .seconds(seconds), uptime: .seconds(1), readyFor: readyFor, requested: false,
            isFailure: true, reason: code.map { "exit \($0)" } ?? "killed")
    }

    static func actual(_ instances: [InstanceSnapshot], history: [ExitRecord] = []) -> ActualState {
        var state = ActualState()
        for instance in instances {
            state.servers[instance.id.name, default: server(instance.id.name)].instances.append(instance)
        }
        for record in history {
            state.servers[record.instance.name, default: server(record.instance.name)].history.append(record)
        }
        return state
    }

    private static func server(_ name: String) -> ServerSnapshot {
        ServerSnapshot(name: name, instances: [], starts: [], history: [], exits: 0)
    }
}

/// SplitMix64: a seedable generator, so a failing property case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
