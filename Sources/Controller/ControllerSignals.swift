import CSystem
import Foundation
import Glibc

/// SIGTERM, SIGINT and SIGHUP for `controller run`, in order of arrival.
///
/// A C handler writes each signal's number to a pipe and the `omni-signals` thread reads it, so
/// a signal counts whichever thread the kernel delivers it to. Dispatch signal sources did not
/// promise that: libdispatch re-raises a signal that reached a thread without its block at the
/// thread that registered the source, and a controller under load once went on running after
/// its first SIGTERM (the second one stopped it).
struct ControllerSignals: Sendable {
    static let numbers = [SIGTERM, SIGINT, SIGHUP]

    /// Each signal's number, in order of arrival.
    let stream: AsyncStream<Int32>
    /// Ends `stream`; later signals are read and dropped.
    let finish: @Sendable () -> Void

    /// Installs the handlers; nil (and errno) when the pipe or a handler cannot be set up.
    static func take() -> ControllerSignals? {
        let fd = numbers.withUnsafeBufferPointer { omni_signal_pipe($0.baseAddress, Int32($0.count)) }
        guard fd >= 0 else { return nil }
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let thread = Thread {
            omni_name_thread("omni-signals")
            var number: UInt8 = 0
            while true {
                let count = read(fd, &number, 1)
                if count == 1 {
                    continuation.yield(Int32(number))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        thread.start()
        return ControllerSignals(stream: stream, finish: { continuation.finish() })
    }
}
