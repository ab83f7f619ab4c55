import Desired
import Reconciler
import Testing
import Tracing

@testable import Actual
@testable import Controller
@testable import Gateway

@Suite struct GatewaySpanTests {
    static let client = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"

    static func record(_ trace: TraceContext, outcome: String = "ok", method: String = "tools/call", tool: String? = "echo")
        -> GatewayRecord
    {
        GatewayRecord(
            server: "demo", method: method, tool: tool, era: .modern, session: nil, outcome: outcome, status: outcome == "ok" ? 200 : 504,
            latency: .milliseconds(250), trace: trace, instance: InstanceID(name: "demo", number: 3),
            error: outcome == "ok" ? nil : "no answer to tools/call within 1s")
    }

    /// The client's span is the parent, and the span's own id is the parent the server was given
    /// in `_meta.traceparent`: one context for the log, the span and the child.
    @Test func theClientsSpanIsTheParentAndTheChildsParentIsTheSpan() throws {
        var values: [UInt64] = [0x00f0_67aa_0ba9_02b7]
        let trace = TraceContext(traceparent: GatewaySpanTests.client, random: { values.removeFirst() })
        #expect(trace.parentSpanID == "b7ad6b7169203331")
        #expect(trace.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let span = try #require(GatewaySpan.make(GatewaySpanTests.record(trace), end: 10_000_000_000))
        #expect(span.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(span.parentSpanID == "b7ad6b7169203331")
        #expect(span.spanID == "00f067aa0ba902b7")
        #expect(span.kind == .server)
        #expect(span.name == "tools/call echo")
        #expect(span.start == 9_750_000_000)
        #expect(span.end == 10_000_000_000)
        #expect(span.status == .ok)
        let attributes = Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.key, $0.value) })
        #expect(attributes["mcp.method.name"] == .string("tools/call"))
        #expect(attributes["gen_ai.tool.name"] == .string("echo"))
        #expect(attributes["mcp.tool.name"] == .string("echo"))
        #expect(attributes["mcp.server"] == .string("demo"))
        #expect(attributes["omni.srv"] == .string("demo"))
        #expect(attributes["omni.outcome"] == .string("ok"))
        #expect(attributes["omni.instance"] == .string("demo#3"))
        #expect(attributes["http.response.status_code"] == .int(200))
        #expect(attributes["error.type"] == nil)
    }

    /// Without a client context the span is a root of a new trace.
    @Test func aNewTraceHasNoParent() throws {
        let span = try #require(GatewaySpan.make(GatewaySpanTests.record(TraceContext(traceparent: nil)), end: 1))
        #expect(span.parentSpanID == nil)
        #expect(span.traceID.count == 32)
        #expect(span.start == 0)
    }

    /// Unsampled: no span, but the context (flag off) still goes to the child.
    @Test func anUnsampledRequestIsNotExported() {
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-00")
        #expect(!trace.sampled)
        #expect(trace.traceparent.hasSuffix("-00"))
        #expect(trace.traceparent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(GatewaySpan.make(GatewaySpanTests.record(trace), end: 1) == nil)
    }

    /// A failure is an error span with the outcome as `error.type`; a made-up method does not
    /// become a span name.
    @Test func failuresAreErrorsAndNamesStayBounded() throws {
        let trace = TraceContext(traceparent: GatewaySpanTests.client)
        let failed = try #require(GatewaySpan.make(GatewaySpanTests.record(trace, outcome: "timeout"), end: 1_000_000_000))
        #expect(failed.status == .error("no answer to tools/call within 1s"))
        #expect(failed.attributes.contains(.string("error.type", "timeout")))
        let odd = try #require(
            GatewaySpan.make(GatewaySpanTests.record(trace, method: String(repeating: "x", count: 1000), tool: nil), end: 1))
        #expect(odd.name == "other")
        #expect(odd.attributes.first { $0.key == "mcp.method.name" }?.value == .string(String(repeating: "x", count: 256)))
    }
}

@Suite struct ReconcileSpansTests {
    static func spec(_ name: String) throws -> ServerSpec {
        let yaml = "name: \(name)\ndescription: test server\ntransport: stdio\ncommand: [mcp-demo]\n"
        let (manifest, _) = ManifestReader.read(Array(yaml.utf8), file: "servers/\(name).yaml", stem: name)
        let (layer, _) = ConfigLayers.read(Array("features: { \(name): { enabled: true } }\n".utf8), file: "config/default.yaml")
        let (config, _) = ConfigLayers.merge([layer].compactMap { $0 }, environment: Environment([:]))
        let state = DesiredState.build(config: try #require(config), manifests: [try #require(manifest)], environment: Environment([:])).0
        return try #require(state.servers[name])
    }

    static func exit(_ id: InstanceID, requested: Bool) -> ExitRecord {
        ExitRecord(
            instance: id, processHash: "h", pid: 42, status: ExitStatus(code: 0), at: .init(timeIntervalSince1970: 0), clock: .zero,
            uptime: .seconds(1), readyFor: .zero, requested: requested, isFailure: false, reason: "stopped")
    }

    static func counter() -> () -> UInt64 {
        var next: UInt64 = 0
        return {
            next += 1
            return next
        }
    }

    /// A pass that spawned one server and stopped another: a root `reconcile` span, a spawn
    /// span that lasts until the process is ready, a stop span until it is gone, and under the
    /// stop a drain span until the supervisor began stopping it.
    @Test func aPassAndItsActionsAreLinkedAndTimed() throws {
        var spans = ReconcileSpans(random: ReconcileSpansTests.counter())
        let demo = try ReconcileSpansTests.spec("demo")
        let old = InstanceID(name: "gone", number: 2)
        var out: [Span] = []
        out += spans.observe(.applying(Action(.spawn(demo), server: "demo", reason: "enabled")), at: 100)
        out += spans.observe(.applying(Action(.stop(old, isFailure: false), server: "gone", reason: "removed")), at: 101)
        out += spans.observe(.reconciled(duration: .nanoseconds(5), actions: 2, generation: 7), at: 102)
        let new = InstanceID(name: "demo", number: 1)
        out += spans.observe(.actual(.spawned(new, pid: 4242)), at: 110)
        out += spans.observe(.actual(.draining(old, reason: "removed")), at: 150)
        out += spans.observe(.actual(.ready(new, GatewayHarnessIdentity.server, toolCount: 4, latency: .zero)), at: 200)
        out += spans.observe(.actual(.stopped(ReconcileSpansTests.exit(old, requested: true), step: .stdinClosed)), at: 300)
        #expect(spans.waiting == 0)
        #expect(out.map(\.name) == ["reconcile", "reconcile drain", "reconcile spawn", "reconcile stop"])
        let pass = out[0]
        #expect(pass.parentSpanID == nil)
        #expect(pass.kind == .internal)
        #expect(pass.start == 97)
        #expect(pass.end == 102)
        #expect(pass.attributes.contains(.int("omni.actions", 2)))
        #expect(out.allSatisfy { $0.traceID == pass.traceID })
        let (drain, spawn, stop) = (out[1], out[2], out[3])
        #expect(spawn.parentSpanID == pass.spanID)
        #expect(stop.parentSpanID == pass.spanID)
        #expect(drain.parentSpanID == stop.spanID)
        #expect((spawn.start, spawn.end) == (100, 200))
        #expect((drain.start, drain.end) == (101, 150))
        #expect((stop.start, stop.end) == (101, 300))
        for attribute in [
            Attribute.string("omni.srv", "demo"), .string("omni.action", "spawn"), .string("omni.reason", "enabled"),
            .string("omni.outcome", "ok"), .string("omni.instance", "demo#1"), .int("process.pid", 4242),
        ] {
            #expect(spawn.attributes.contains(attribute), "\(attribute)")
        }
        #expect(stop.attributes.contains(.string("omni.stop_step", "stdin closed")))
        #expect(drain.attributes.contains(.string("omni.action", "drain")))
        #expect(Set(out.map(\.spanID)).count == 4)
    }

    /// Failed starts are error spans; a quarantine is an instant in a pass of its own.
    @Test func failuresAndQuarantine() throws {
        var spans = ReconcileSpans(random: ReconcileSpansTests.counter())
        let demo = try ReconcileSpansTests.spec("demo")
        _ = spans.observe(.applying(Action(.spawn(demo), server: "demo", reason: "enabled")), at: 1)
        _ = spans.observe(.reconciled(duration: .zero, actions: 1, generation: 1), at: 1)
        let failed = spans.observe(.actual(.startFailed(InstanceID(name: "demo", number: 1), reason: "no handshake")), at: 5)
        // Never spawned (no `.spawned` first): matched by server.
        #expect(failed.isEmpty)
        let spawnFailed = spans.observe(
            .actual(.spawnFailed(InstanceID(name: "demo", number: 1), LaunchError(.resolve, "no such file"))), at: 6)
        #expect(spawnFailed.map(\.name) == ["reconcile spawn"])
        #expect(spawnFailed.first?.status == .error("spawn_failed"))
        let held = spans.observe(.hold(server: "demo", .quarantined(until: .seconds(300), reason: "5 failures in 60s")), at: 7)
        #expect(held.map(\.name) == ["reconcile quarantine"])
        let pass = spans.observe(.reconciled(duration: .zero, actions: 0, generation: 1), at: 8)
        #expect(pass.map(\.name) == ["reconcile"])
        #expect(held.first?.parentSpanID == pass.first?.spanID)
        #expect(spans.observe(.reconciled(duration: .zero, actions: 0, generation: 1), at: 9).isEmpty)
    }

    /// An outcome that never comes ends the action `unknown` after `maxAge`; shutdown ends the rest.
    @Test func waitingIsBounded() throws {
        var spans = ReconcileSpans(random: ReconcileSpansTests.counter())
        let demo = try ReconcileSpansTests.spec("demo")
        _ = spans.observe(.applying(Action(.spawn(demo), server: "demo", reason: "enabled")), at: 1)
        _ = spans.observe(.applying(Action(.spawn(demo), server: "other", reason: "enabled")), at: ReconcileSpans.maxAge)
        let expired = spans.observe(.reconciled(duration: .zero, actions: 2, generation: 1), at: ReconcileSpans.maxAge + 2)
        #expect(expired.map(\.name) == ["reconcile spawn", "reconcile"])
        #expect(expired.first?.attributes.contains(.string("omni.outcome", "unknown")) == true)
        let rest = spans.finishAll(at: ReconcileSpans.maxAge + 3, outcome: "shutdown")
        #expect(rest.first?.attributes.contains(.string("omni.srv", "other")) == true)
        #expect(spans.waiting == 0)
    }
}

enum GatewayHarnessIdentity {
    static let server = ServerIdentity(
        era: .modern, protocolVersion: "2026-07-28", name: "demo", version: "1", capabilities: .object([]), instructions: nil)
}
