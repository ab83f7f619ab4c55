import Actual
import Desired
import Foundation
import Glibc
import HTTP
import Synchronization
import Testing

@testable import Egress

/// The proxy on loopback against an upstream started by the test: tunnels, forwarded requests,
/// credentials, refusals, head limits and the adopted-listener seam.
@Suite(.serialized) struct ProxyRelayTests {
    @Test func connectTunnelsBytesBothWays() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        client.send(
            "CONNECT 127.0.0.1:\(fixture.upstream.port) HTTP/1.1\r\nHost: 127.0.0.1:\(fixture.upstream.port)\r\n"
                + "Proxy-Authorization: \(fixture.authorization)\r\n\r\n")
        let established = client.read(until: "\r\n\r\n")
        #expect(established.hasPrefix("HTTP/1.1 200 "))
        // Through the tunnel: an origin-form request the upstream answers.
        client.send("GET /through HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.contains("GET /through HTTP/1.1"))
        #expect(fixture.proxy.stats()["svc"]?.allowed == 1)
    }

    @Test func absoluteFormIsForwardedWithoutProxyHeaders() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        let port = fixture.upstream.port
        client.send(
            "GET http://127.0.0.1:\(port)/path?q=1 HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nProxy-Authorization: \(fixture.authorization)\r\n"
                + "Proxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 200 OK"))
        #expect(response.contains("GET /path?q=1 HTTP/1.1"))
        #expect(response.contains("X-Kept: yes"))
        #expect(response.contains("Connection: close"))
        #expect(!response.lowercased().contains("proxy-"))
        #expect(!response.contains("omxp_"))
    }

    @Test func missingOrWrongCredentialsGet407() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let port = fixture.upstream.port
        for header in ["", "Proxy-Authorization: Basic bm9wZTpub3Bl\r\n", "Proxy-Authorization: Bearer x\r\n"] {
            let client = try TestSocket(port: fixture.proxy.port)
            client.send("GET http://127.0.0.1:\(port)/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\(header)\r\n")
            let response = client.readToEnd()
            #expect(response.hasPrefix("HTTP/1.1 407 "))
            #expect(response.contains("Proxy-Authenticate: Basic"))
            client.close()
        }
        #expect(fixture.events.withLock { $0.contains { if case .unauthenticated = $0 { true } else { false } } })
    }

    @Test func hostsOutsideTheListAndInternalAddressesGet403() throws {
        let fixture = try Fixture(entries: { port in ["named.test:\(port)"] }, hosts: ["named.test": "127.0.0.1"])
        defer { fixture.close() }
        let port = fixture.upstream.port
        for target in ["other.test:\(port)", "named.test:\(port)", "127.0.0.1:\(port)"] {
            let client = try TestSocket(port: fixture.proxy.port)
            client.send("CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
            let response = client.readToEnd()
            #expect(response.hasPrefix("HTTP/1.1 403 "), "\(target): \(response)")
            client.close()
        }
        let denied = fixture.events.withLock {
            $0.compactMap { if case .denied(_, _, let host, _, let reason) = $0 { "\(host): \(reason)" } else { nil } }
        }
        #expect(denied.contains("named.test: resolves to 127.0.0.1, an internal address no egress entry names"))
        #expect(denied.contains("other.test: other.test is not in the egress list"))
        #expect(fixture.proxy.stats()["svc"]?.denied == 3)
        // Listing the address literally lets the name through, without a new admission.
        fixture.proxy.configure(egress: ["svc": ["named.test:\(port)", "127.0.0.1:\(port)"]])
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        client.send(
            "GET http://named.test:\(port)/ok HTTP/1.1\r\nHost: named.test\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 200 "))
        #expect(response.contains("Host: named.test:\(port)"))
    }

    @Test func oversizedHeadsAndNonProxyRequestsAreRefused() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let long = try TestSocket(port: fixture.proxy.port)
        long.send("GET http://a.test/ HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 20000))\r\n\r\n")
        #expect(long.readToEnd().hasPrefix("HTTP/1.1 431 "))
        long.close()
        let origin = try TestSocket(port: fixture.proxy.port)
        origin.send("GET /not-a-proxy-request HTTP/1.1\r\nHost: a\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(origin.readToEnd().hasPrefix("HTTP/1.1 400 "))
        origin.close()
    }

    @Test func theTunnelBoundIsPerServer() throws {
        let fixture = try Fixture(maxTunnels: 1)
        defer { fixture.close() }
        let port = fixture.upstream.port
        let first = try TestSocket(port: fixture.proxy.port)
        defer { first.close() }
        first.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(first.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
        let second = try TestSocket(port: fixture.proxy.port)
        defer { second.close() }
        second.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(second.readToEnd().hasPrefix("HTTP/1.1 429 "))
    }

    @Test func releaseEndsCredentialsAndTunnels() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let port = fixture.upstream.port
        let open = try TestSocket(port: fixture.proxy.port)
        defer { open.close() }
        open.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(open.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
        fixture.proxy.release(fixture.instance)
        // The tunnel is closed by the proxy: the read ends.
        _ = open.readToEnd()
        let after = try TestSocket(port: fixture.proxy.port)
        defer { after.close() }
        after.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(after.readToEnd().hasPrefix("HTTP/1.1 407 "))
    }

    @Test func anAdoptedListenerServesItsInstanceOnly() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let (fd, adoptedPort) = try Sockets.listen(on: #require(IPAddress("127.0.0.1")), port: 0).get()
        fixture.proxy.adopt(listener: fd, for: fixture.instance)
        let port = fixture.upstream.port
        let client = try TestSocket(port: adoptedPort)
        client.send("GET http://127.0.0.1:\(port)/adopted HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(client.readToEnd().contains("GET /adopted HTTP/1.1"))
        client.close()
        // Another instance's valid credentials are refused there.
        let other = InstanceID(name: "svc", number: 2)
        let otherURL = fixture.proxy.admit(other)["HTTP_PROXY"] ?? ""
        let token = String(otherURL.split(separator: ":")[2].split(separator: "@")[0])
        let stranger = try TestSocket(port: adoptedPort)
        stranger.send(
            "GET http://127.0.0.1:\(port)/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: "
                + "\(ProxyCredentials.header(user: "svc", password: token))\r\n\r\n")
        #expect(stranger.readToEnd().hasPrefix("HTTP/1.1 407 "))
        stranger.close()
        fixture.proxy.release(fixture.instance)
        // Released: the adopted listener is closed (connecting is refused, or the socket ends).
        var refused = false
        for _ in 0..<100 where !refused {
            if (try? TestSocket(port: adoptedPort)) == nil { refused = true } else { usleep(10_000) }
        }
        #expect(refused)
    }

    /// The proxy's own deadlines end these connections: the waits below are for its verdict
    /// (bounded by the sockets' 5 s receive timeout), never a sleep standing in for an event.
    @Test func idleTunnelsAreClosed() throws {
        let fixture = try Fixture(idle: .milliseconds(300))
        defer { fixture.close() }
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        let port = fixture.upstream.port
        client.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(client.readToEnd().hasPrefix("HTTP/1.1 200 "))
        #expect(fixture.closeReasons().contains("idle timeout"))
        #expect(fixture.proxy.stats()["svc"]?.active == 0)
    }

    @Test func busyTunnelsEndAtTheTotalTimeout() throws {
        let fixture = try Fixture(total: .milliseconds(400))
        defer { fixture.close() }
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        let port = fixture.upstream.port
        client.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(client.readToEnd().hasPrefix("HTTP/1.1 200 "))
        #expect(fixture.closeReasons().contains("total timeout"))
    }

    @Test func aClientThatNeverSendsAHeadIsDropped() throws {
        let fixture = try Fixture(connect: .milliseconds(200))
        defer { fixture.close() }
        let silent = try TestSocket(port: fixture.proxy.port)
        defer { silent.close() }
        #expect(silent.readToEnd().isEmpty)
    }

    @Test func aBodyIsForwardedWholeAfter100Continue() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        let port = fixture.upstream.port
        client.send(
            "POST http://127.0.0.1:\(port)/post HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n"
                + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(client.read(until: "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n")
        client.send("hello")
        let response = client.readToEnd()
        #expect(response.contains("POST /post HTTP/1.1"))
        #expect(response.contains("Content-Length: 5"))
        #expect(!response.contains("Expect"))
    }

    /// A name the proxy resolves through `getaddrinfo` (`localhost`, from the machine's own
    /// hosts file): internal, so refused until the address is listed.
    @Test func namesAreResolvedByTheProxyAndCheckedAfterwards() throws {
        let fixture = try Fixture(entries: { ["localhost:\($0)"] })
        defer { fixture.close() }
        let port = fixture.upstream.port
        let refused = try TestSocket(port: fixture.proxy.port)
        refused.send("GET http://localhost:\(port)/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        let answer = refused.readToEnd()
        refused.close()
        #expect(answer.hasPrefix("HTTP/1.1 403 "))
        #expect(answer.contains("an internal address no egress entry names"))
        fixture.proxy.configure(egress: ["svc": ["localhost:\(port)", "127.0.0.1:\(port)"]])
        let allowed = try TestSocket(port: fixture.proxy.port)
        defer { allowed.close() }
        allowed.send("GET http://localhost:\(port)/dns HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        #expect(allowed.readToEnd().contains("GET /dns HTTP/1.1"))
    }

    @Test func anUpstreamThatRefusesIsA502() throws {
        let closed = try Sockets.listen(on: #require(IPAddress("127.0.0.1")), port: 0).get()
        Glibc.close(closed.fd)  // nothing listens on that port now
        let fixture = try Fixture(entries: { _ in ["127.0.0.1:\(closed.port)"] })
        defer { fixture.close() }
        let client = try TestSocket(port: fixture.proxy.port)
        defer { client.close() }
        client.send("CONNECT 127.0.0.1:\(closed.port) HTTP/1.1\r\nHost: x\r\nProxy-Authorization: \(fixture.authorization)\r\n\r\n")
        let answer = client.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 502 "))
        #expect(answer.contains("Connection refused"))
        #expect(fixture.proxy.stats()["svc"]?.failed == 1)
    }

    /// Children are told 127.0.0.1: any other address, even another loopback one, is refused.
    @Test(arguments: ["0.0.0.0", "127.0.0.2", "::1"])
    func theProxyListensOn127001Only(host: String) {
        #expect(throws: EgressProxyError.self) {
            _ = try EgressProxy(settings: ProxySettings(listen: ListenAddress(host: host, port: 0))) { _ in }
        }
    }

    @Test func aListenerAdoptedForAReleasedInstanceIsClosedAtOnce() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let late = InstanceID(name: "svc", number: 7)
        let (fd, port) = try Sockets.listen(on: #require(IPAddress("127.0.0.1")), port: 0).get()
        fixture.proxy.adopt(listener: fd, for: late)
        #expect((try? TestSocket(port: port)) == nil)
    }

    @Test func admitGivesEveryProxyVariable() throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let variables = fixture.proxy.admit(InstanceID(name: "svc", number: 9))
        #expect(
            Set(variables.keys) == ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "NODE_USE_ENV_PROXY"])
        #expect(variables["NODE_USE_ENV_PROXY"] == "1")
        #expect(variables["HTTPS_PROXY"]?.hasPrefix("http://svc:omxp_") == true)
        #expect(variables["HTTPS_PROXY"]?.hasSuffix("@127.0.0.1:\(fixture.proxy.port)") == true)
        #expect(variables["NO_PROXY"] == "localhost,127.0.0.1,::1")
    }
}

/// A proxy, an upstream, and one admitted instance of server `svc`.
private struct Fixture {
    let proxy: EgressProxy
    let upstream: EchoUpstream
    let instance = InstanceID(name: "svc", number: 1)
    let authorization: String
    let events = EventLog()

    init(
        entries: (UInt16) -> [String] = { ["127.0.0.1:\($0)"] }, hosts: [String: String] = [:], maxTunnels: Int = 8,
        idle: Duration = .seconds(60), total: Duration = .seconds(600), connect: Duration = .seconds(10)
    ) throws {
        upstream = try EchoUpstream()
        let settings = ProxySettings(
            idleTimeout: idle, totalTimeout: total, connectTimeout: connect, maxTunnels: maxTunnels, hosts: hosts)
        let log = events
        proxy = try EgressProxy(settings: settings, loop: EventLoop(name: "egress-test")) { log.append($0) }
        proxy.configure(egress: ["svc": entries(upstream.port)])
        let url = proxy.admit(instance)["HTTP_PROXY"] ?? ""
        let token = String(url.split(separator: ":")[2].split(separator: "@")[0])
        authorization = ProxyCredentials.header(user: "svc", password: token)
    }

    func close() {
        proxy.shutdown()
        upstream.close()
    }

    /// Why the tunnels closed so far, after the last one (the event follows the socket's close).
    func closeReasons() -> [String] {
        for _ in 0..<500 {
            let reasons = events.withLock { $0.compactMap { if case .closed(_, _, _, _, _, _, let reason) = $0 { reason } else { nil } } }
            if !reasons.isEmpty { return reasons }
            usleep(10_000)
        }
        return []
    }
}

/// The events the proxy reported.
private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [EgressEvent] = []

    func append(_ event: EgressEvent) {
        lock.withLock { events.append(event) }
    }

    func withLock<T>(_ body: ([EgressEvent]) -> T) -> T {
        lock.withLock { body(events) }
    }
}

/// An HTTP server on 127.0.0.1 that answers every request with its own head as the body, then
/// closes. One thread, blocking accept, stopped by `close`.
private final class EchoUpstream: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32

    init() throws {
        let (fd, port) = try Sockets.listen(on: #require(IPAddress("127.0.0.1")), port: 0).get()
        self.fd = fd
        self.port = port
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        let thread = Thread { [fd] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var head: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !String(decoding: head, as: UTF8.self).contains("\r\n\r\n"), head.count < 65536 {
                    let count = recv(client, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    head += buffer[0..<count]
                }
                let body = String(decoding: head, as: UTF8.self)
                let response = "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                Glibc.close(client)
            }
        }
        thread.start()
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}

/// A blocking client socket with a 5 s receive timeout.
private struct TestSocket {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 {
            Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `marker` has arrived (or the stream ends, or 5 s pass).
    func read(until marker: String) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func readToEnd() -> String {
        read(until: "\u{0}never\u{0}")
    }

    func close() {
        Glibc.close(fd)
    }
}
