import Desired
import Glibc
import Testing

@testable import Actual

@Suite struct HealthTrackerTests {
    @Test func becomesUnhealthyAtTheThresholdAndRecoversOnOneSuccess() {
        var tracker = HealthTracker(failureThreshold: 3)
        #expect(tracker.record(success: false) == .none)
        #expect(tracker.record(success: false) == .none)
        #expect(tracker.record(success: true) == .none)
        #expect(tracker.consecutiveFailures == 0)
        #expect(tracker.record(success: false) == .none)
        #expect(tracker.record(success: false) == .none)
        #expect(tracker.record(success: false) == .becameUnhealthy)
        #expect(tracker.record(success: false) == .none)
        #expect(tracker.consecutiveFailures == 4)
        #expect(tracker.record(success: true) == .recovered)
        #expect(tracker.verdict == .healthy)
    }

    @Test func changingTheThresholdKeepsTheVerdict() {
        var tracker = HealthTracker(failureThreshold: 1)
        #expect(tracker.record(success: false) == .becameUnhealthy)
        tracker.failureThreshold = 5
        #expect(tracker.verdict == .unhealthy)
        #expect(tracker.record(success: true) == .recovered)
    }

    @Test func aThresholdBelowOneMeansOne() {
        var tracker = HealthTracker(failureThreshold: 0)
        #expect(tracker.record(success: false) == .becameUnhealthy)
    }
}

@Suite struct LogRateLimiterTests {
    /// A child flooding stderr must not flood the controller's log: after the burst, lines are
    /// dropped and counted, and the count is reported with the next admitted line.
    @Test func admitsABurstThenTheRateAndCountsWhatItDrops() {
        var limiter = LogRateLimiter(rate: 10, burst: 3)
        let t0 = Duration.seconds(100)
        for _ in 0..<3 { #expect(limiter.admit(at: t0) == (true, 0)) }
        #expect(limiter.admit(at: t0) == (false, 0))
        #expect(limiter.admit(at: t0 + .milliseconds(50)) == (false, 0))
        #expect(limiter.suppressed == 2)
        #expect(limiter.admit(at: t0 + .milliseconds(150)) == (true, 2))
        #expect(limiter.admit(at: t0 + .milliseconds(150)) == (false, 0))
        // A long quiet spell refills only up to the burst.
        #expect(limiter.admit(at: t0 + .seconds(60)) == (true, 1))
        #expect(limiter.admit(at: t0 + .seconds(60)) == (true, 0))
        #expect(limiter.admit(at: t0 + .seconds(60)) == (true, 0))
        #expect(limiter.admit(at: t0 + .seconds(60)) == (false, 0))
    }
}

@Suite struct ProcessStatsTests {
    @Test func parsesStatCountingFieldsAfterTheLastParenthesis() {
        let line =
            "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 987654 10000000 300 18446744073709551615 0"
        let stats = ProcessStats.parse(line, ticksPerSecond: 100, pageSize: 4096)
        #expect(
            stats
                == ProcessStats(
                    cpuSeconds: 3, rssBytes: 300 * 4096, startTicks: 987654, processGroup: 4242, session: 4242, state: "S", parent: 1))
        #expect(ProcessStats.parse("garbage", ticksPerSecond: 100, pageSize: 4096) == nil)
    }

    @Test func readsThisProcess() {
        let stats = ProcessStats.read(pid: getpid())
        #expect((stats?.rssBytes ?? 0) > 0)
        #expect(ProcessStats.read(pid: -5) == nil)
    }
}

@Suite struct CommandResolverTests {
    private let files: Set<String> = ["/usr/bin/uvx", "/opt/omni/bin/mcp-demo", "/srv/root/bin/tool"]

    private var resolver: CommandResolver {
        let files = files
        return CommandResolver(root: "/srv/root", helperDirectory: "/opt/omni/bin", isExecutable: { files.contains($0) })
    }

    @Test func looksUpBareWordsInTheChildsPathThenBesideTheController() {
        #expect(resolver.resolve("uvx", childPath: "/bin:/usr/bin") == .success("/usr/bin/uvx"))
        #expect(resolver.resolve("mcp-demo", childPath: "/bin:/usr/bin") == .success("/opt/omni/bin/mcp-demo"))
    }

    @Test func resolvesPathsWithASlashAgainstTheRoot() {
        #expect(resolver.resolve("bin/tool", childPath: nil) == .success("/srv/root/bin/tool"))
        #expect(resolver.resolve("./bin/tool", childPath: nil) == .success("/srv/root/bin/tool"))
        #expect(resolver.resolve("/usr/bin/uvx", childPath: nil) == .success("/usr/bin/uvx"))
    }

    @Test func saysWhereItLooked() {
        #expect(
            resolver.resolve("nope", childPath: "/bin::/usr/bin")
                == .failure(LaunchError(.resolve, code: ENOENT, "executable \"nope\" not found in /bin:/usr/bin:/opt/omni/bin")))
        #expect(
            resolver.resolve("bin/missing", childPath: nil)
                == .failure(LaunchError(.resolve, code: ENOENT, "/srv/root/bin/missing is not an executable file")))
        #expect(resolver.resolve("", childPath: nil) == .failure(LaunchError(.resolve, "the command is empty")))
    }
}

@Suite struct ChildEnvironmentTests {
    /// One server's secrets must never reach another: the child sees the baseline and its own
    /// manifest's variables, nothing else of the controller's environment.
    @Test func isTheBaselinePlusTheManifestOnly() {
        let controller = Environment(["PATH": "/p", "HOME": "/h", "LANG": "C.UTF-8", "GITHUB_TOKEN": "secret", "TMPDIR": ""])
        let env = ChildEnvironment.build(spec: ["API_KEY": "k", "HOME": "/srv"], controller: controller)
        #expect(env == ["PATH": "/p", "HOME": "/srv", "LANG": "C.UTF-8", "API_KEY": "k"])
        #expect(ChildEnvironment.entries(env) == ["API_KEY=k", "HOME=/srv", "LANG=C.UTF-8", "PATH=/p"])
        #expect(ChildEnvironment.build(spec: [:], controller: Environment())["PATH"] == ChildEnvironment.defaultPath)
    }

    /// The proxy's variables carry the instance's credentials: a manifest cannot replace them.
    @Test func theProxyVariablesWinOverTheManifest() {
        let env = ChildEnvironment.build(
            spec: ["HTTPS_PROXY": "http://elsewhere", "A": "1"], controller: Environment(["PATH": "/p"]),
            egress: ["HTTPS_PROXY": "http://s:t@127.0.0.1:1", "NO_PROXY": "localhost"])
        #expect(env == ["PATH": "/p", "A": "1", "HTTPS_PROXY": "http://s:t@127.0.0.1:1", "NO_PROXY": "localhost"])
    }
}
