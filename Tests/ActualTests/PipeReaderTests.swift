import CSystem
import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

@testable import Actual

@Suite struct PipeReaderTests {
    /// A child that writes why it fails and exits at once: the clean-up after its exit may close
    /// the pipe before the loop has read it. What is in the pipe then is read, not dropped.
    @Test func finishReadsWhatIsStillInThePipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(omni_pipe_cloexec(&fds) == 0)
        let text = "first\nsecond\nno newline at the end"
        _ = text.withCString { write(fds[1], $0, strlen($0)) }
        let lines = Mutex<[LineEvent]>([])
        // Never started: the loop never reads it, as when the exit clean-up wins the race.
        let reader = PipeReader(fd: fds[0], loop: .shared, maxLineLength: 1024) { line in lines.withLock { $0.append(line) } }
        // The write end stays open (a descendant holding it): no end of file, only EAGAIN.
        reader.finish()
        close(fds[1])
        let got = lines.withLock { $0 }
        #expect(got == [.line(Array("first".utf8)), .line(Array("second".utf8)), .line(Array("no newline at the end".utf8))])
        reader.finish()  // idempotent
        #expect(lines.withLock { $0.count } == 3)
    }

    /// A stop's final drain (`finish`, on a task thread) while the loop is still delivering an
    /// earlier line: the later lines wait, so the log gets them whole and in order. The loop is
    /// played by a thread of this test (the shared loop must never block); the 500 ms is how
    /// long `finish` gets to overtake, which it can only do when the order is broken.
    @Test func theFinalDrainNeverOvertakesALineBeingDelivered() async throws {
        // The semaphores block: on a thread of its own, never on the cooperative pool that the
        // other tests' timers need.
        let lines = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try Self.raceTheFinalDrain() }) }
        }
        #expect(lines == ["one", "two"])
    }

    /// The race of the test above; returns the lines in the order they were delivered.
    private static func raceTheFinalDrain() throws -> [String] {
        var fds: [Int32] = [0, 0]
        #expect(omni_pipe_cloexec(&fds) == 0)
        defer { close(fds[1]) }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let lines = Mutex<[String]>([])
        let reader = PipeReader(fd: fds[0], loop: .shared, maxLineLength: 1024) { event in
            guard case .line(let bytes) = event else { return }
            let text = String(decoding: bytes, as: UTF8.self)
            if text == "one" {
                entered.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            lines.withLock { $0.append(text) }
        }
        _ = "one\n".withCString { write(fds[1], $0, 4) }
        let loopDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            reader.handle(events: UInt32(EPOLLIN.rawValue))
            loopDone.signal()
        }
        try #require(entered.wait(timeout: .now() + 10) == .success)
        _ = "two\n".withCString { write(fds[1], $0, 4) }
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            reader.finish()
            finished.signal()
        }
        let overtook = finished.wait(timeout: .now() + .milliseconds(500)) == .success
        release.signal()
        #expect(loopDone.wait(timeout: .now() + 10) == .success)
        if !overtook { #expect(finished.wait(timeout: .now() + 10) == .success) }
        return lines.withLock { $0 }
    }
}
