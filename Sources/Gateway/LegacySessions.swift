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
/// A session id is 128 random bits in hex (visible ASCII, as the spec requires). Ids are bound
/// to the server whose endpoint issued them: presented at another `/mcp/<name>` they are
/// unknown (404). At the cap, the session idle longest makes room.
struct LegacySessionTable: Sendable {
    private(set) var sessions: [String: LegacySession] = [:]
    let idle: Duration
    let limit: Int
    /// `idle` in the event loop's nanoseconds.
    private let idleNanoseconds: UInt64

    init(idle: Duration, limit: Int) {
        self.idle = idle
        self.limit = max(1, limit)
        idleNanoseconds = idle.nanoseconds
    }

    var count: Int { sessions.count }

    /// Opens a session; returns the one evicted to make room, if any.
    mutating func open(id: String, server: String, client: ClientContext, now: UInt64) -> LegacySession? {
        var evicted: LegacySession?
        if sessions.count >= limit, let oldest = sessions.values.min(by: { $0.lastSeen < $1.lastSeen }) {
            evicted = sessions.removeValue(forKey: oldest.id)
        }
        sessions[id] = LegacySession(id: id, server: server, client: client, lastSeen: now)
        return evicted
    }

    /// The live session `id` of `server`, marked as used now; nil when unknown, expired (it is
    /// then removed: `expire` closes its stream), or another server's.
    mutating func use(_ id: String, server: String, now: UInt64) -> LegacySession? {
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
        sessions.removeValue(forKey: id)
    }

    /// Removes every session idle for longer than `idle` (a session with an open GET stream is
    /// in use); returns them so that their streams can be closed.
    mutating func expire(now: UInt64) -> [LegacySession] {
        let gone = sessions.values.filter { isExpired($0, now: now) }
        for session in gone { sessions.removeValue(forKey: session.id) }
        return gone
    }

    /// Sessions of `server` with an open GET stream.
    func streams(of server: String) -> [HTTPStream] {
        sessions.values.compactMap { $0.server == server ? $0.stream : nil }.filter { !$0.isClosed }
    }

    func count(of server: String) -> Int {
        sessions.values.count { $0.server == server }
    }

    private func isExpired(_ session: LegacySession, now: UInt64) -> Bool {
        if let stream = session.stream, !stream.isClosed { return false }
        return now > session.lastSeen && now - session.lastSeen > idleNanoseconds
    }

    /// A new session id: 128 bits from the system's secure generator, as 32 hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return TraceContext.hex(generator.next(), digits: 16) + TraceContext.hex(generator.next(), digits: 16)
    }
}
