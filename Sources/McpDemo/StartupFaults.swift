import Foundation
import Glibc

/// The process-level faults applied once, before the first line is read.
enum StartupFaults {
    /// Applies `options` in this order: signal dispositions, grandchild, escapee, leaving the
    /// group, exit timer,
    /// stderr flood, slow start. The exit timer starts before the flood and the slow start
    /// so `--exit-after-ms` counts from process start.
    static func apply(_ options: DemoOptions, output: OutputChannel) {
        if options.ignoreSigterm {
            signal(SIGTERM, SIG_IGN)
        }
        if options.forkGrandchild {
            switch Grandchild.spawn(argv0: CommandLine.arguments.first ?? "mcp-demo") {
            case .success(let pid): StandardError.log("grandchild pid \(pid)")
            case .failure(let failure): StandardError.log("could not spawn the grandchild: \(failure)")
            }
        }
        if let mode = options.escape {
            Escapee.start(mode, argv0: CommandLine.arguments.first ?? "mcp-demo")
        }
        if options.leaveGroup {
            // The parent's group is in the parent's session only if the parent did not start
            // us in a session of our own; a session leader cannot change its group at all.
            if setpgid(0, getpgid(getppid())) == 0 {
                StandardError.log("leave-group: moved to group \(getpgrp())")
            } else {
                StandardError.log("leave-group: setpgid failed: \(String(cString: strerror(errno)))")
            }
        }
        if let milliseconds = options.exitAfterMilliseconds {
            let code = options.exitCode
            // A thread of its own: it must fire even if every task is busy or stdin blocks.
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: Double(milliseconds) / 1_000)
                StandardError.log("exiting with code \(code) after \(milliseconds) ms (--exit-after-ms)")
                output.terminate(code: code)
            }
        }
        if options.floodStderrLines > 0 {
            // As fast as possible: if nobody drains stderr this blocks, which is the point.
            for line in 1...options.floodStderrLines {
                StandardError.log("flood line \(line) of \(options.floodStderrLines)")
            }
        }
        if options.slowStartMilliseconds > 0 {
            Thread.sleep(forTimeInterval: Double(options.slowStartMilliseconds) / 1_000)
        }
    }
}
