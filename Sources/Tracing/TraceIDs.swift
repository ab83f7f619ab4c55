import Glibc

/// New trace and span ids and the wall clock spans are stamped with.
public enum TraceIDs {
    /// A non-zero random 64-bit value (glibc's `arc4random_buf`: no system call per value).
    public static func random() -> UInt64 {
        var value: UInt64 = 0
        while value == 0 { arc4random_buf(&value, MemoryLayout<UInt64>.size) }
        return value
    }

    /// A new span id: 16 hex digits, not all zero.
    public static func spanID(_ random: () -> UInt64 = TraceIDs.random) -> String { hex(random()) }

    /// A new trace id: 32 hex digits, not all zero.
    public static func traceID(_ random: () -> UInt64 = TraceIDs.random) -> String { hex(random()) + hex(random()) }

    /// `value` as 16 lower-case hex digits.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: value >> (4 * UInt64(15 - index))) & 0x0F
                buffer[index] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
            }
            return 16
        }
    }

    /// Now, in nanoseconds since the Unix epoch (`CLOCK_REALTIME`): span times.
    public static func unixNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec)) * 1_000_000_000 + UInt64(max(0, now.tv_nsec))
    }

    /// Now on the monotonic clock, in nanoseconds: the exporter's schedule.
    public static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(max(0, now.tv_sec)) * 1_000_000_000 + UInt64(max(0, now.tv_nsec))
    }
}
