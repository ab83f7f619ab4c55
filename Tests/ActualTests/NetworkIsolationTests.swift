import CSystem
import Desired
import Foundation
import Glibc
import Synchronization
import Testing

@testable import Actual

/// `isolation: network` against the real kernel: the namespace the spawn shim makes, what the
/// child sees inside, the listener handed to the egress broker, the user-namespace fallback, and
/// the refusal where the host permits no namespaces.
@Suite(.timeLimit(.minutes(2))) struct NetworkIsolationTests {
    /// The host's answer, or nil (with the reason printed) where it forbids namespaces: the
    /// only case in which these tests do not run.
    private func supported() async -> IsolationSupport.Mode? {
        switch await IsolationProbe.support() {
        case .supported(let mode): return mode
        case .unsupported(let reason):
            print("skipped: this machine forbids network namespaces: \(reason)")
            return nil
        }
    }

    /// Without CAP_SYS_ADMIN (21) the plain unshare is refused; without CAP_NET_ADMIN (12) lo
    /// cannot be raised in the namespace it made: either way the user namespace answers.
    @Test(arguments: [Int32(21), 12])
    func theProbeFallsBackToAUserNamespaceWithoutTheCapability(capability: Int32) async throws {
        guard let mode = await supported() else { return }
        let fallback = await SpawnThread.shared.run { IsolationProbe.run(dropCapability: capability) }
        #expect(fallback == .supported(.userNamespace), "\(fallback)")
        if geteuid() == 0 { #expect(mode == .networkNamespace) }
    }

    /// Only `lo`, up; a port the test listens on in the host's namespace is not there inside;
    /// 127.0.0.1:<broker port> inside reaches the listener the broker adopted; nothing else is
    /// routed; the proxy variables are in the environment; the broker forgets the instance
    /// when it ends.
    @Test func anIsolatedChildReachesOnlyTheAdoptedListener() async throws {
        guard await supported() != nil else { return }
        let host = try LoopbackListener(answer: "host")
        defer { host.close() }
        // The broker's port is the port the host listener holds outside: inside, the same
        // address is the broker's, which shows the two loopbacks apart.
        let broker = FakeBroker(port: host.port)
        let fleet = try Fleet(egress: broker)
        let other = try LoopbackListener(answer: "other")
        defer { other.close() }
        let spec = try fleet.spec(
            "iso", command: ["/usr/bin/python3", try Self.writeReport(in: fleet), String(host.port), String(other.port), "192.0.2.1"],
            isolation: "network")
        #expect(spec.isolation == .network)
        let id = await fleet.supervisor.start(spec)
        let report = try await reportLine(of: id, in: fleet.log)
        #expect(report["interfaces"] as? [String] == ["lo"])
        #expect(report["lo_up"] as? Bool == true)
        #expect(report[String(host.port)] as? String == "answer:proxy", "\(report)")
        #expect(report[String(other.port)] as? String == "error:\(ECONNREFUSED)", "\(report)")
        #expect(report["192.0.2.1"] as? String == "error:\(ENETUNREACH)", "\(report)")
        #expect(report["HTTPS_PROXY"] as? String == "http://127.0.0.1:\(host.port)")
        #expect(broker.adopted.withLock { $0 } == [id])
        #expect(host.accepted.withLock { $0 } == 0, "the host's listener was reached from inside")
        #expect(await eventually { broker.released.withLock { $0.contains(id) } })
    }

    /// With no broker nothing listens inside: an isolated child has no way out at all.
    @Test func withoutABrokerAnIsolatedChildReachesNothing() async throws {
        guard await supported() != nil else { return }
        let host = try LoopbackListener(answer: "host")
        defer { host.close() }
        let fleet = try Fleet()
        let spec = try fleet.spec(
            "iso", command: ["/usr/bin/python3", try Self.writeReport(in: fleet), String(host.port)], isolation: "network")
        let id = await fleet.supervisor.start(spec)
        let report = try await reportLine(of: id, in: fleet.log)
        #expect(report["interfaces"] as? [String] == ["lo"])
        #expect(report[String(host.port)] as? String == "error:\(ECONNREFUSED)", "\(report)")
        #expect(host.accepted.withLock { $0 } == 0)
    }

    /// The fallback all the way through a launch: CAP_SYS_ADMIN dropped in the child, a user
    /// namespace mapping the current ids to themselves, lo up, the listener passed back.
    @Test func theUserNamespaceFallbackLaunchesWithTheListener() async throws {
        guard await supported() != nil else { return }
        let port = UInt16(freePort())
        let lines = LineBox()
        let request = LaunchRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", "cat /proc/self/uid_map; cat /proc/net/dev"], environment: [:], cwd: nil,
            isolation: NetworkIsolation(listenerPort: port, dropCapability: 21))
        let child = try await ChildProcess.launch(
            request,
            stdoutSink: { _ in
                { event in
                    if case .line(let bytes) = event { lines.lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
                }
            },
            onStderr: { _ in })
        #expect(child.isolationMode == .userNamespace)
        let listener = try #require(child.namespaceListener)
        defer { close(listener) }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        #expect(UInt16(bigEndian: address.sin_port) == port)
        #expect(await child.exit.wait() == ExitStatus(code: 0))
        let output = await waitForLines(lines) { $0.contains { $0.contains("lo:") } }
        let map = output.first?.split(separator: " ").map(String.init) ?? []
        #expect(map == ["\(geteuid())", "\(geteuid())", "1"], "\(output)")
        #expect(
            output.filter { $0.contains(":") && !$0.contains("|") }.map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }
                == ["lo"])
    }

    /// Where namespaces are not permitted, an isolated server is not started: the launch fails
    /// before any fork with a permanent error that says why, recorded as the server's last exit.
    @Test func whereNamespacesAreNotPermittedTheServerIsNotStarted() async throws {
        let broker = FakeBroker(port: 1)
        let fleet = try Fleet(egress: broker, isolation: .unsupported(reason: "unshare(CLONE_NEWNET): Operation not permitted"))
        let spec = try fleet.spec("iso", command: ["/bin/true"], isolation: "network")
        let id = await fleet.supervisor.start(spec)
        let event = await fleet.log.first { if case .spawnFailed(id, _) = $0 { true } else { false } }
        guard case .spawnFailed(_, let error) = event else {
            Issue.record("expected spawnFailed, got \(String(describing: event))")
            return
        }
        #expect(error.step == .isolation)
        #expect(error.permanent)
        #expect(error.message == "isolation: network is not possible on this host: unshare(CLONE_NEWNET): Operation not permitted")
        let last = try #require(await fleet.supervisor.snapshot().servers["iso"]?.lastExit)
        #expect(last.permanent)
        #expect(last.pid == nil)
        #expect(last.reason.contains("not possible on this host"))
        #expect(!(await fleet.log.events.contains { if case .spawned = $0 { true } else { false } }))
        #expect(broker.released.withLock { $0 } == [id])
        // An unisolated server of the same supervisor starts as ever.
        let plain = await fleet.supervisor.start(try fleet.spec("plain", command: ["/bin/true"]))
        #expect(await fleet.log.first { if case .spawned(plain, _) = $0 { true } else { false } } != nil)
    }

    @Test func failuresNameTheStepAndBothErrnos() {
        let unshare = Int32(OMNI_SPAWN_UNSHARE.rawValue)
        #expect(
            IsolationFailure.message(step: unshare, code: EPERM, detail: EPERM, port: 0)
                == "isolation: network: unshare(CLONE_NEWNET): Operation not permitted; user namespaces: unshare(CLONE_NEWUSER|CLONE_NEWNET): Operation not permitted"
        )
        // No fallback for anything but "not permitted".
        #expect(
            IsolationFailure.message(step: unshare, code: ENOMEM, detail: ENOMEM, port: 0)
                == "isolation: network: unshare(CLONE_NEWNET): Cannot allocate memory")
        #expect(
            IsolationFailure.message(step: Int32(OMNI_SPAWN_ID_MAP.rawValue), code: EPERM, detail: 2, port: 0)
                == "isolation: network: user namespace: writing /proc/self/uid_map: Operation not permitted")
        #expect(
            IsolationFailure.message(step: Int32(OMNI_SPAWN_LISTENER.rawValue), code: EADDRINUSE, detail: 2, port: 8080)
                == "isolation: network: the proxy listener on 127.0.0.1:8080 inside the namespace: bind: Address already in use")
        #expect(IsolationFailure.message(step: Int32(OMNI_SPAWN_EXEC.rawValue), code: ENOENT, detail: 0, port: 0) == nil)
        #expect(IsolationFailure.isPermanent(step: unshare, code: EPERM))
        #expect(!IsolationFailure.isPermanent(step: unshare, code: ENOSPC))
        #expect(!IsolationFailure.isPermanent(step: Int32(OMNI_SPAWN_LISTENER.rawValue), code: EPERM))
    }

    // MARK: - Helpers

    /// Run inside the namespace: interfaces (/proc/net/dev), lo's flags, one connection per
    /// argument (a port on 127.0.0.1, or an address on port 80), the proxy variable; one JSON
    /// line on stderr.
    static let report = """
        import fcntl, json, os, socket, struct, sys
        out = {"interfaces": [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]}
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), 0x8913, struct.pack("16sH", b"lo", 0))[:18])[1]
        out["lo_up"] = bool(flags & 1)
        for target in sys.argv[1:]:
            address = ("127.0.0.1", int(target)) if target.isdigit() else (target, 80)
            try:
                c = socket.create_connection(address, timeout=5)
                out[target] = "answer:" + c.recv(64).decode()
                c.close()
            except OSError as e:
                out[target] = "error:" + str(e.errno)
        out["HTTPS_PROXY"] = os.environ.get("HTTPS_PROXY")
        print("isolation-report " + json.dumps(out), file=sys.stderr, flush=True)
        """

    /// The script's path in the fleet's root (a manifest's flow list cannot carry it inline).
    private static func writeReport(in fleet: Fleet) throws -> String {
        let path = fleet.root + "/report.py"
        try Data(report.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func reportLine(of id: InstanceID, in log: EventLog) async throws -> [String: Any] {
        let event = await log.first { event in
            switch event {
            case .stderr(id, let line): line.hasPrefix("isolation-report ")
            case .spawnFailed(id, _): true
            default: false
            }
        }
        guard case .stderr(_, let line) = event else { throw ReportMissing(event: String(describing: event)) }
        let json = Data(line.dropFirst("isolation-report ".count).utf8)
        return try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    }

    struct ReportMissing: Error {
        var event: String
    }

    private func waitForLines(_ box: LineBox, until done: @escaping @Sendable ([String]) -> Bool) async -> [String] {
        _ = await eventually(timeout: .seconds(10)) { box.lines.withLock { done($0) } }
        return box.lines.withLock { $0 }
    }

    final class LineBox: Sendable {
        let lines = Mutex<[String]>([])
    }
}

/// A broker that serves each adopted listener itself: every connection gets "proxy".
final class FakeBroker: EgressBroker, @unchecked Sendable {
    let port: UInt16
    let adopted = Mutex<[InstanceID]>([])
    let released = Mutex<[InstanceID]>([])
    private let listeners = Mutex<[InstanceID: LoopbackListener]>([:])

    init(port: UInt16) { self.port = port }

    func admit(_ instance: InstanceID) -> [String: String] { ["HTTPS_PROXY": "http://127.0.0.1:\(port)"] }

    func adopt(listener: Int32, for instance: InstanceID) {
        adopted.withLock { $0.append(instance) }
        listeners.withLock { $0[instance] = LoopbackListener(adopting: listener, answer: "proxy") }
    }

    func release(_ instance: InstanceID) {
        released.withLock { $0.append(instance) }
        let listener = listeners.withLock { $0.removeValue(forKey: instance) }
        listener?.close()
    }
}

/// A TCP listener on 127.0.0.1 (or an adopted one) that answers every connection with a word
/// and closes it, on a thread of its own; it stops when closed, and after 60 s at most.
final class LoopbackListener: Sendable {
    let port: UInt16
    let accepted = Mutex(0)
    private let fd: Int32
    private let closed = Mutex(false)

    convenience init(answer: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        self.init(adopting: fd, answer: answer)
    }

    init(adopting fd: Int32, answer: String) {
        self.fd = fd
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve(answer) }
        thread.start()
    }

    private func serve(_ answer: String) {
        let deadline = ContinuousClock.now + .seconds(60)
        while !closed.withLock({ $0 }), ContinuousClock.now < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) == 1 else { continue }
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { continue }
            accepted.withLock { $0 += 1 }
            _ = answer.withCString { write(connection, $0, strlen($0)) }
            Glibc.close(connection)
        }
        Glibc.close(fd)
    }

    func close() { closed.withLock { $0 = true } }
}
