/// The `sleep` tool: waits off the reader thread, reports progress, and stops when cancelled.
enum SleepTool {
    /// How often progress is reported, in milliseconds.
    static let progressInterval = 100
    /// How often a sleeping call looks for its cancellation, in milliseconds.
    private static let cancellationPoll = 20

    /// The tool error for a missing or out-of-range `ms`.
    static let invalidArguments = ToolResult.failure(
        "Invalid arguments for sleep: \"ms\" is required and must be an integer from 0 to \(ToolCatalogue.maxSleepMilliseconds)."
    )

    /// The validated duration in milliseconds; nil when `ms` is missing, not an integer, or out of range.
    static func duration(_ arguments: JSONValue) -> Int? {
        guard let ms = arguments["ms"]?.integerValue, (0...ToolCatalogue.maxSleepMilliseconds).contains(ms) else { return nil }
        return ms
    }

    /// Sleeps `milliseconds`. With a `progressToken`, sends `notifications/progress` about every
    /// `progressInterval` ms (`progress` = elapsed ms, strictly increasing, `total` = the
    /// duration) and one final `progress == total` before returning.
    ///
    /// - Returns: true when the sleep completed; false when the request was cancelled (the
    ///   caller then sends nothing more for it).
    static func run(
        milliseconds: Int,
        progressToken: JSONValue?,
        request: InFlightRequest,
        output: OutputChannel
    ) async -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        var nextReport = progressInterval
        while true {
            if request.isCancelled { return false }
            let elapsed = wholeMilliseconds(clock.now - start)
            if elapsed >= milliseconds { break }
            if let progressToken, elapsed >= nextReport {
                request.unlessCancelled {
                    output.send(notification: progress(progressToken, elapsed, of: milliseconds))
                }
                nextReport = (elapsed / progressInterval + 1) * progressInterval
            }
            let wait = min(cancellationPoll, milliseconds - elapsed, max(1, nextReport - elapsed))
            try? await Task.sleep(for: .milliseconds(wait))
        }
        if let progressToken, milliseconds > 0 {
            request.unlessCancelled { output.send(notification: progress(progressToken, milliseconds, of: milliseconds)) }
        }
        return !request.isCancelled
    }

    private static func progress(_ token: JSONValue, _ done: Int, of total: Int) -> JSONValue {
        Frame.notification(
            method: "notifications/progress",
            params: .object([
                ("progressToken", token),
                ("progress", .integer(done)),
                ("total", .integer(total)),
                ("message", .string("slept \(done) of \(total) ms")),
            ])
        )
    }

    private static func wholeMilliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
