/// The schema of a config layer (`config/*.yaml`); every key is optional in every layer.
public enum ConfigSchema {
    public static let schema = Schema.object(
        ObjectSchema(
            "A layer of controller configuration.",
            fields: [
                Field("listen", .string(.listenAddress, description: "HOST:PORT of the admin and gateway endpoint.")),
                Field(
                    "auth",
                    .object(
                        ObjectSchema(
                            "Who may call the HTTP API.",
                            fields: [
                                Field("tokens_env", .string(.variableName, description: "Variable holding comma-separated bearer tokens.")),
                                Field(
                                    "allowed_origins",
                                    .array(
                                        of: .string(.url, description: "An origin."), unique: true,
                                        description: "Browser origins allowed to call the API.")),
                            ]))),
                Field(
                    "log",
                    .object(
                        ObjectSchema(
                            "JSON logs on stdout.",
                            fields: [
                                Field(
                                    "level", .string(.oneOf(["debug", "info", "warning", "error"]), description: "Lowest level written."))
                            ]))),
                Field(
                    "audit",
                    .object(
                        ObjectSchema(
                            "The NDJSON audit log.",
                            fields: [
                                Field("path", .string(.text(max: 4096), interpolated: true, description: "File, relative to the root.")),
                                Field("max_size", .string(.byteSize, description: "Size at which the file is rotated.")),
                                Field("keep", .integer(1...100, description: "Rotated files kept.")),
                            ]))),
                Field(
                    "otel",
                    .object(
                        ObjectSchema(
                            "OpenTelemetry traces over OTLP/HTTP.",
                            fields: [
                                Field("enabled", .boolean(description: "Export traces.")),
                                Field(
                                    "endpoint",
                                    .string(
                                        .url, interpolated: true,
                                        description: "OTLP/HTTP collector base URL, http:// only; spans go to <endpoint>/v1/traces.")),
                                Field("service_name", .string(.text(max: 200), description: "service.name resource attribute.")),
                            ]))),
                Field(
                    "reconcile",
                    .object(
                        ObjectSchema(
                            "The reconcile loop.",
                            fields: [
                                Field(
                                    "debounce",
                                    .string(
                                        .duration(.milliseconds(0)...(.seconds(10))),
                                        description: "Quiet time after a file change (0..10s).")),
                                Field(
                                    "resync",
                                    .string(.duration(.seconds(1)...(.seconds(86400))), description: "Full re-read period (1s..24h).")),
                                Field("max_unavailable", .string(.percent, description: "Share of servers replaced at once.")),
                                Field(
                                    "start_window",
                                    .integer(
                                        0...4096,
                                        description: "Processes starting (spawned, not ready yet) at once; 0: four per CPU core.")),
                                Field(
                                    "spawn_rate",
                                    .number(0...1000, description: "At most this many process starts per second; 0: no cap.")),
                            ]))),
                Field(
                    "proxy",
                    .object(
                        ObjectSchema(
                            "The egress proxy: every server's outbound HTTP(S), checked against its manifest's egress list.",
                            fields: [
                                Field(
                                    "listen",
                                    .string(
                                        .listenAddress,
                                        description: "127.0.0.1:PORT (the address children are told); port 0 picks a free port.")),
                                Field(
                                    "idle_timeout",
                                    .string(
                                        .duration(.seconds(1)...(.seconds(86400))),
                                        description: "A tunnel with no traffic either way is closed after this (1s..24h).")),
                                Field(
                                    "total_timeout",
                                    .string(
                                        .duration(.seconds(1)...(.seconds(604800))),
                                        description: "Longest life of one tunnel or request (1s..7d).")),
                                Field(
                                    "connect_timeout",
                                    .string(
                                        .duration(.milliseconds(100)...(.seconds(300))),
                                        description: "From accepting a connection to a connected upstream (100ms..5m).")),
                                Field(
                                    "max_tunnels",
                                    .integer(1...65536, description: "Tunnels open at once per server; more are answered 429.")),
                                Field(
                                    "hosts",
                                    .map(
                                        keys: .hostPattern,
                                        values: .string(.text(max: 45), description: "An IPv4 or IPv6 address."),
                                        description:
                                            "Static name resolution consulted before DNS, like curl's --resolve: host name to address.")),
                            ]))),
                Field("defaults", PolicySchemas.defaults),
                Field(
                    "features",
                    .map(
                        keys: .name,
                        values: .object(
                            ObjectSchema(
                                "One server's switch.", fields: [Field("enabled", .boolean(description: "Run this server."))])),
                        description: "Which servers run, by name; all are off unless enabled here or by OMNI_FEATURE_<NAME>.")),
            ]))
}
