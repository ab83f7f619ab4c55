/// What the exporter tells its owner, for one log line each.
public enum ExportNotice: Sendable, Hashable {
    /// Exports began to fail: batches are dropped from here until one goes through.
    case failing(String)
    /// An export went through after failures that were warned about.
    case recovered(failedBatches: Int, droppedSpans: Int)
}

/// Decides when a failing collector is worth a log line: one warning when exports start
/// failing (not one per batch), none again within `quiet` of the last even if the collector
/// flaps, and one line when exports work again after a warned failure.
struct ExportHealth: Sendable, Hashable {
    /// Nanoseconds between two warnings at least.
    var quiet: UInt64
    private(set) var failing = false
    private var lastWarning: UInt64?
    private var warned = false
    private var failedBatches = 0
    private var droppedSpans = 0

    init(quiet: UInt64 = 60_000_000_000) {
        self.quiet = quiet
    }

    /// Records one export of `spans` spans at `now` (monotonic nanoseconds).
    mutating func record(_ result: ExportResult, spans: Int, at now: UInt64) -> ExportNotice? {
        if result == .accepted {
            defer {
                failing = false
                warned = false
                failedBatches = 0
                droppedSpans = 0
            }
            return failing && warned ? .recovered(failedBatches: failedBatches, droppedSpans: droppedSpans) : nil
        }
        failedBatches += 1
        droppedSpans += spans
        guard !failing else { return nil }
        failing = true
        if let lastWarning, now &- lastWarning < quiet { return nil }
        lastWarning = now
        warned = true
        return .failing(ExportHealth.describe(result))
    }

    static func describe(_ result: ExportResult) -> String {
        switch result {
        case .accepted: "accepted"
        case .rejected(let status): "the collector answered \(status)"
        case .failed(let why): why
        }
    }
}
