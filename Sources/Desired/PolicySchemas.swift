/// The per-server policies, shared by manifests and by `defaults:` in config.
public enum PolicySchemas {
    public static let limits = Schema.object(
        ObjectSchema(
            "Per-server request guards applied by the gateway.",
            fields: [
                Field("rps", .number(0.1...100_000, description: "Sustained requests per second (token bucket rate).")),
                Field("burst", .integer(1...100_000, description: "Token bucket size: requests allowed at once above the rate.")),
                Field("concurrency", .integer(1...1024, description: "Requests in flight at once.")),
                Field(
                    "request_timeout",
                    .string(.duration(.milliseconds(1)...(.seconds(3600))), description: "Longest a request may take (1ms..1h).")),
            ]))

    public static let health = Schema.object(
        ObjectSchema(
            "MCP health probing: ping (legacy) or server/discover (modern).",
            fields: [
                Field("interval", .string(.duration(.seconds(1)...(.seconds(3600))), description: "Time between probes (1s..1h).")),
                Field(
                    "timeout",
                    .string(.duration(.milliseconds(100)...(.seconds(300))), description: "Longest a probe may take (100ms..5m).")),
                Field("failure_threshold", .integer(1...100, description: "Consecutive failed probes that make a server unhealthy.")),
                Field(
                    "startup_timeout",
                    .string(
                        .duration(.seconds(1)...(.seconds(600))), description: "Longest a new process may take to become ready (1s..10m).")),
            ]))

    public static let restart = Schema.object(
        ObjectSchema(
            "What happens when the process exits.",
            fields: [
                Field(
                    "policy",
                    .string(
                        .oneOf(["always", "on-failure", "never"]), description: "always, on-failure (non-zero exit or signal), or never.")),
                Field(
                    "backoff",
                    .array(
                        of: .string(.duration(.milliseconds(0)...(.seconds(3600))), description: "One delay (0..1h)."),
                        minItems: 1, maxItems: 32,
                        description: "Delays before successive restarts; the last repeats. ±20% jitter is added.")),
                Field("budget", .string(.budget, description: "Most restarts in a window before quarantine, e.g. 5/60s.")),
                Field(
                    "quarantine",
                    .string(
                        .duration(.seconds(1)...(.seconds(86400))),
                        description: "How long a crash-looping server rests before one half-open try (1s..24h).")),
                Field(
                    "reset_after",
                    .string(
                        .duration(.seconds(1)...(.seconds(86400))),
                        description: "Continuous readiness after which the backoff starts over (1s..24h).")),
            ]))

    /// How the process is started with respect to the network (`Isolation`).
    public static let isolation = Schema.string(
        .oneOf(Isolation.allCases.map(\.rawValue)),
        description:
            "none (the controller's network) or network (a network namespace of its own with only loopback: the egress proxy is the only way out). Not for transport: http servers with a command."
    )

    /// What `defaults:` may hold: the policies, filled into every manifest that omits them.
    public static let defaults = Schema.object(
        ObjectSchema(
            "Policies filled into every manifest that does not set them.",
            fields: [Field("limits", limits), Field("health", health), Field("restart", restart), Field("isolation", isolation)]))
}
