import HTTP

/// What a server's clients were last told about its lists, and changes not told yet: the pure
/// part of relaying `list_changed` after a restart.
///
/// After every (re)start the gateway lists the new process's tools, prompts and resources and
/// records a fingerprint of each. The first sighting is the baseline; a later one that differs
/// from what clients were last told (or a server's own `list_changed`) is pending until the
/// coalescing timer fires: a burst of restarts is one notification per stream, and a burst that
/// ends where it began is none.
struct ListWatch: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case tools, prompts, resources

        /// The method that lists them, and the notification that says they changed.
        var method: String { "\(rawValue)/list" }
        var notification: String { "notifications/\(rawValue)/list_changed" }

        init?(notification: String) {
            guard let kind = Kind.allCases.first(where: { $0.notification == notification }) else { return nil }
            self = kind
        }
    }

    /// Fingerprints as clients last knew them (the baseline, then each notification's).
    private var told: [Kind: Int] = [:]
    /// Fingerprints as the latest process listed them.
    private var seen: [Kind: Int] = [:]
    /// The server said itself that these changed.
    private var announced: Set<Kind> = []
    /// The pending flush: its timer, and when the first change of the burst came.
    var timer: LoopTimer?
    var burstStarted: UInt64?

    /// Records a fresh listing; true when it is a change clients have not been told of.
    mutating func listed(_ kind: Kind, fingerprint: Int) -> Bool {
        seen[kind] = fingerprint
        guard let known = told[kind] else {
            told[kind] = fingerprint
            return false
        }
        return known != fingerprint
    }

    /// The server's own `list_changed`: passed on at the next flush whatever the fingerprints say.
    mutating func announce(_ kind: Kind) {
        announced.insert(kind)
    }

    /// The notifications due now; what they tell becomes what clients know.
    mutating func flush() -> [Kind] {
        let due = Kind.allCases.filter { kind in announced.contains(kind) || seen[kind].map { $0 != told[kind] } ?? false }
        for kind in due { told[kind] = seen[kind] ?? told[kind] }
        announced = []
        timer = nil
        burstStarted = nil
        return due
    }
}
