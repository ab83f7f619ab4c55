import CSystem
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
}
