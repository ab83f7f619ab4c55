import Glibc

/// The bytes read from one side of a tunnel and not yet written to the other: a fixed block,
/// so a side whose peer does not read is stopped (its buffer is full) instead of growing.
struct RelayBuffer {
    private var storage: [UInt8]
    private var head = 0
    private var tail = 0

    init(capacity: Int) {
        storage = [UInt8](repeating: 0, count: capacity)
    }

    var isEmpty: Bool { head == tail }
    var count: Int { tail - head }
    var hasSpace: Bool { tail < storage.count || head > 0 }

    /// Appends bytes produced by the proxy itself (a response head, a rebuilt request); these
    /// may exceed the block, which then grows once.
    mutating func append(_ bytes: [UInt8]) {
        compact()
        if tail + bytes.count > storage.count { storage += [UInt8](repeating: 0, count: tail + bytes.count - storage.count) }
        storage.replaceSubrange(tail..<(tail + bytes.count), with: bytes)
        tail += bytes.count
    }

    /// One `read(2)` into the free space: the byte count, 0 at end of stream, -1 with `errno`.
    mutating func read(from fd: Int32) -> Int {
        if tail == storage.count { compact() }
        let room = storage.count - tail
        guard room > 0 else { return -1 }
        let start = tail
        let count = storage.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress.map { $0 + start }, room) }
        if count > 0 { tail += count }
        return count
    }

    /// One `send(2)` of what is held: the byte count or -1 with `errno`.
    mutating func write(to fd: Int32) -> Int {
        guard head < tail else { return 0 }
        let start = head
        let length = tail - head
        let count = storage.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + start }, length, Int32(MSG_NOSIGNAL)) }
        if count > 0 {
            head += count
            if head == tail {
                head = 0
                tail = 0
            }
        }
        return count
    }

    private mutating func compact() {
        guard head > 0 else { return }
        if head < tail {
            let (from, length) = (head, tail - head)
            storage.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                memmove(base, base + from, length)
            }
        }
        tail -= head
        head = 0
    }
}
