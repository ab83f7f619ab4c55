import HTTP

/// One legacy client session (`initialize` … `DELETE`): what the client declared, which server
/// it belongs to, and its GET stream for server notifications.
struct LegacySession: Sendable {
    let id: String
    let server: String
    let client: ClientContext
    /// When the client last used it (monotonic nanoseconds).
    var lastSeen: UInt64
    /// The open GET stream, if any (MCP.md: at most one; a second gets 409).
    var stream: HTTPStream?
}

/// Legacy sessions by id, with idle expiry and a cap, as a pure value (time is passed in).
///
/// A session id is sealed (`SessionSeal`): it carries the session's state under the
/// controller's HMAC key, so an id this table does not hold (the controller restarted since it
/// was issued) is taken back when it is genuine, is for the same server and was issued within
/// `maxAge`. Ids that ended here (deleted, expired, evicted) are remembered until they are
/// past `maxAge` anyway, so they cannot come back. Ids are bound to the server whose endpoint
/// issued them: presented at another `/mcp/<name>` they are unknown (404). At the cap, the
/// session idle longest makes room.
struct LegacySessionTable: Sendable {
    private(set) var sessions: [String: LegacySession] = [:]
    let idle: Duration
    let limit: Int
    let seal: SessionSeal
    /// Seconds since 1970, for the age of ids (monotonic time does not survive a restart).
    let wallClock: @Sendable () -> Int64
    let maxAge: Int64
    /// Ids that ended (by their MAC, which is unique to each), with when they were issued;
    /// at most `endedLimit`, the oldest forgotten first.
    private var ended: [String: Int64] = [:]
    private var endedLimit: Int { max(10_000, 4 * limit) }
    /// `idle` in the event loop's nanoseconds.
    private let idleNanoseconds: UInt64

    /// Told of every id that ends (its key and issue time), so that the owner can keep them
    /// across restarts and hand them back as `ended`.
    let recordEnded: @Sendable (String, Int64) -> Void

    init(
        idle: Duration, limit: Int, seal: SessionSeal, maxAge: Duration, wallClock: @escaping @Sendable () -> Int64,
        ended: [String: Int64] = [:], recordEnded: @escaping @Sendable (String, Int64) -> Void = { _, _ in }
    ) {
        self.idle = idle
        self.limit = max(1, limit)
        self.seal = seal
        self.maxAge = maxAge.components.seconds
        self.wallClock = wallClock
        self.recordEnded = recordEnded
        idleNanoseconds = idle.nanoseconds
        let oldest = wallClock() - self.maxAge
        self.ended = ended.filter { $0.value >= oldest }
    }

    var count: Int { sessions.count }

    /// A new sealed id for a session of `server` with `client`.
    func mint(server: String, client: ClientContext) -> String {
        seal.seal(SessionSeal.Contents(server: server, client: client, issued: wallClock()), nonce: LegacySessionTable.newID())
    }

    /// Opens a session; returns the one evicted to make room, if any.
    mutating func open(id: String, server: String, client: ClientContext, now: UInt64) -> LegacySession? {
        var evicted: LegacySession?
        if sessions.count >= limit, let oldest = sessions.values.min(by: { $0.lastSeen < $1.lastSeen }) {
            evicted = sessions.removeValue(forKey: oldest.id)
            if let evicted { end(evicted.id) }
        }
        sessions[id] = LegacySession(id: id, server: server, client: client, lastSeen: now)
        return evicted
    }

    /// The live session `id` of `server`, marked as used now; nil when unknown, expired (it is
    /// then removed: `expire` closes its stream), or another server's. A genuine sealed id
    /// this table does not hold is taken back (a controller restart in between).
    mutating func use(_ id: String, server: String, now: UInt64) -> LegacySession? {
        if sessions[id] == nil, ended[LegacySessionTable.endedKey(id)] == nil, let contents = seal.open(id), contents.server == server,
            wallClock() - contents.issued <= maxAge, sessions.count < limit
        {
            sessions[id] = LegacySession(id: id, server: server, client: contents.client, lastSeen: now)
        }
        guard var session = sessions[id], session.server == server else { return nil }
        guard !isExpired(session, now: now) else { return nil }
        session.lastSeen = now
        sessions[id] = session
        return session
    }

    /// Attaches a GET stream; false when the session has a live one already.
    mutating func attach(_ stream: HTTPStream, to id: String) -> Bool {
        guard var session = sessions[id] else { return false }
        if let current = session.stream, !current.isClosed { return false }
        session.stream = stream
        sessions[id] = session
        return true
    }

    mutating func close(_ id: String) -> LegacySession? {
        guard let session = sessions.removeValue(forKey: id) else { return nil }
        end(id)
        return session
    }

    /// Removes every session idle for longer than `idle` (a session with an open GET stream is
    /// in use); returns them so that their streams can be closed. Forgets ended ids that are
    /// past `maxAge` (their seal refuses them anyway).
    mutating func expire(now: UInt64) -> [LegacySession] {
        let gone = sessions.values.filter { isExpired($0, now: now) }
        for session in gone {
            sessions.removeValue(forKey: session.id)
            end(session.id)
        }
        let oldest = wallClock() - maxAge
        ended = ended.filter { $0.value >= oldest }
        return gone
    }

    /// Sessions of `server` with an open GET stream.
    func streams(of server: String) -> [HTTPStream] {
        sessions.values.compactMap { $0.server == server ? $0.stream : nil }.filter { !$0.isClosed }
    }

    func count(of server: String) -> Int {
        sessions.values.count { $0.server == server }
    }

    private mutating func end(_ id: String) {
        let key = LegacySessionTable.endedKey(id)
        let issued = seal.open(id)?.issued ?? wallClock()
        ended[key] = issued
        recordEnded(key, issued)
        if ended.count > endedLimit {
            // Half of the oldest go at once, so that this sort is rare.
            let oldest = ended.sorted { $0.value < $1.value }.prefix(ended.count / 2)
            for (key, _) in oldest { ended[key] = nil }
        }
    }

    static func endedKey(_ id: String) -> String {
        id.lastIndex(of: ".").map { String(id[id.index(after: $0)...]) } ?? id
    }

    private func isExpired(_ session: LegacySession, now: UInt64) -> Bool {
        if let stream = session.stream, !stream.isClosed { return false }
        return now > session.lastSeen && now - session.lastSeen > idleNanoseconds
    }

    /// 128 bits from the system's secure generator, as 32 hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return TraceContext.hex(generator.next(), digits: 16) + TraceContext.hex(generator.next(), digits: 16)
    }
}
