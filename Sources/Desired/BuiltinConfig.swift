/// The lowest config layer: a value for every key, so an empty `config/default.yaml` is valid.
/// Keep in step with `Policies.standard` (a unit test checks they agree).
enum BuiltinConfig {
    /// How diagnostics name this layer: never a user's file.
    static let file = "built-in defaults"

    static let text = """
        listen: 127.0.0.1:8765
        auth: { tokens_env: OMNI_API_TOKENS, allowed_origins: [] }
        log: { level: info }
        audit: { path: var/audit.ndjson, max_size: 64MiB, keep: 5 }
        otel: { enabled: false, endpoint: "http://127.0.0.1:4318", service_name: omni-mcp }
        reconcile: { debounce: 100ms, resync: 60s, max_unavailable: 25%, start_window: 0, spawn_rate: 0 }
        defaults:
          limits: { rps: 10, burst: 20, concurrency: 8, request_timeout: 30s }
          health: { interval: 15s, timeout: 5s, failure_threshold: 3, startup_timeout: 30s }
          restart: { policy: always, backoff: [500ms, 1s, 2s, 5s], budget: 5/60s, quarantine: 5m, reset_after: 30s }
          isolation: none
        features: {}
        """

    /// The parsed layer. The text is a constant checked by tests, so failure cannot happen at
    /// run time; an empty mapping keeps the type total without a force-unwrap.
    static let node: YAMLNode = {
        let fallback = YAMLNode.emptyMapping(at: .origin(file))
        return (try? YAMLParser.parse(Array(text.utf8), file: file)) ?? fallback
    }()
}
