import Foundation
import Synchronization
import Testing

@testable import Actual

/// The supervisor's side of the egress seam: every spawn is admitted first and its variables
/// reach the child; every end, a failed spawn included, is released.
@Suite struct EgressSeamTests {
    @Test func aStartedProcessGetsTheBrokersVariablesAndIsReleasedWhenStopped() async throws {
        let broker = RecordingBroker()
        let fleet = try Fleet(egress: broker)
        let (id, ready) = await fleet.startReady(try fleet.spec("proxied", env: ["HTTP_PROXY": "http://manifest"]))
        guard case .ready = ready else {
            Issue.record("expected ready, got \(String(describing: ready))")
            return
        }
        let pid = try #require(await fleet.supervisor.snapshot().servers["proxied"]?.instances.first?.pid)
        let environ = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")), as: UTF8.self)
        let variables = environ.split(separator: "\0").map(String.init)
        #expect(variables.contains("HTTP_PROXY=http://proxied:token@127.0.0.1:9"))
        #expect(variables.contains("NODE_USE_ENV_PROXY=1"))
        #expect(!variables.contains("HTTP_PROXY=http://manifest"))
        #expect(broker.calls == ["admit proxied#1"])
        await fleet.supervisor.stop(id, reason: "test")
        #expect(broker.calls == ["admit proxied#1", "release proxied#1"])
    }

    @Test func aFailedSpawnIsReleasedToo() async throws {
        let broker = RecordingBroker()
        let fleet = try Fleet(egress: broker)
        let (_, event) = await fleet.startReady(try fleet.spec("missing", command: ["/nonexistent/binary"]))
        guard case .spawnFailed = event else {
            Issue.record("expected spawnFailed, got \(String(describing: event))")
            return
        }
        #expect(broker.calls == ["admit missing#1", "release missing#1"])
    }
}

/// Records admit and release in order and hands out fixed variables.
final class RecordingBroker: EgressBroker {
    private let log = Mutex<[String]>([])
    let port: UInt16 = 9

    var calls: [String] { log.withLock { $0 } }

    func admit(_ instance: InstanceID) -> [String: String] {
        log.withLock { $0.append("admit \(instance)") }
        return ["HTTP_PROXY": "http://\(instance.name):token@127.0.0.1:\(port)", "NODE_USE_ENV_PROXY": "1"]
    }

    func adopt(listener: Int32, for instance: InstanceID) {
        log.withLock { $0.append("adopt \(instance)") }
    }

    func release(_ instance: InstanceID) {
        log.withLock { $0.append("release \(instance)") }
    }
}
