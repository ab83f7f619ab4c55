import Testing

@testable import Desired

/// The built-in layer itself, not the values its reader falls back to (those equal the
/// built-in values, so a key missing from the layer would go unnoticed by value checks).
@Suite struct BuiltinConfigTests {
    @Test func theBuiltInLayerParsesValidatesAndSetsEveryKey() throws {
        let node = try #require(try YAMLParser.parse(Array(BuiltinConfig.text.utf8), file: BuiltinConfig.file))
        #expect(SchemaValidator.validate(node, against: ConfigSchema.schema).isEmpty)
        let paths: [[String]] = [
            ["listen"], ["auth", "tokens_env"], ["auth", "allowed_origins"], ["log", "level"], ["audit", "path"], ["audit", "max_size"],
            ["audit", "keep"], ["otel", "enabled"], ["otel", "endpoint"], ["otel", "service_name"], ["reconcile", "debounce"],
            ["reconcile", "resync"], ["reconcile", "max_unavailable"], ["reconcile", "start_window"], ["reconcile", "spawn_rate"],
            ["features"],
            ["defaults", "limits", "rps"], ["defaults", "limits", "burst"], ["defaults", "limits", "concurrency"],
            ["defaults", "limits", "request_timeout"], ["defaults", "health", "interval"], ["defaults", "health", "timeout"],
            ["defaults", "health", "failure_threshold"], ["defaults", "health", "startup_timeout"], ["defaults", "restart", "policy"],
            ["defaults", "restart", "backoff"], ["defaults", "restart", "budget"], ["defaults", "restart", "quarantine"],
            ["defaults", "restart", "reset_after"], ["defaults", "isolation"],
        ]
        for path in paths {
            let found = path.reduce(Optional(node)) { $0?[$1] }
            #expect(found != nil, "\(path.joined(separator: ".")) is missing from the built-in layer")
        }
        // Every key of the layer is one of those (a new key must be added to the list above).
        #expect(node.pairs?.map(\.key).sorted() == ["audit", "auth", "defaults", "features", "listen", "log", "otel", "reconcile"])
    }
}
