// swift-tools-version: 6.2
import PackageDescription

/// Every target: Swift 6 language mode (complete concurrency checking) and warnings as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "omni-mcp",
    products: [
        .executable(name: "controller", targets: ["Controller"]),
        .executable(name: "mcp-demo", targets: ["McpDemo"]),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CInotify",
            providers: [.apt(["libinotifytools0-dev"])]
        ),
        .target(name: "CSystem"),
        // Wire-level JSON: the value, its renderer and a strict parser for untrusted input.
        .target(
            name: "JSON",
            swiftSettings: strict
        ),
        // Token bucket, latency histogram, Duration units: shared by the rate limiters and
        // metrics of several modules, so it depends on nothing.
        .target(
            name: "Metering",
            swiftSettings: strict
        ),
        .target(
            name: "Desired",
            dependencies: ["CYAML", "JSON"],
            swiftSettings: strict
        ),
        .target(
            name: "Actual",
            dependencies: ["Desired", "HTTP", "JSON", "Metering", "CSystem"],
            swiftSettings: strict
        ),
        .target(
            name: "HTTP",
            dependencies: ["CSystem"],
            swiftSettings: strict
        ),
        // The MCP front door: /mcp/<name> for clients of both eras, guards, routing.
        .target(
            name: "Gateway",
            dependencies: ["Desired", "Actual", "HTTP", "JSON", "Metering"],
            swiftSettings: strict
        ),
        // The egress proxy: every server's outbound HTTP(S), checked against its egress list.
        .target(
            name: "Egress",
            dependencies: ["Desired", "Actual", "HTTP", "CSystem"],
            swiftSettings: strict
        ),
        // OpenTelemetry traces: spans, a bounded queue, OTLP/JSON over the HTTP client.
        .target(
            name: "Tracing",
            dependencies: ["HTTP", "CSystem"],
            swiftSettings: strict
        ),
        .target(
            name: "Reconciler",
            dependencies: ["Desired", "Actual", "Metering"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Controller",
            dependencies: ["Desired", "Actual", "Reconciler", "HTTP", "Gateway", "Egress", "JSON", "Metering", "CSystem", "Tracing"],
            swiftSettings: strict
        ),
        // The demo MCP server: the quickstart's first server and the tests' fault injector.
        // Foundation only, so that it stays an independent peer of the controller's own code.
        .executableTarget(
            name: "McpDemo",
            swiftSettings: strict
        ),
        // bench/spawn.sh: the supervisor under 200 servers (not part of the product).
        .executableTarget(
            name: "SpawnBench",
            dependencies: ["Actual", "Desired", "Metering"],
            path: "bench/spawn",
            swiftSettings: strict
        ),
        .testTarget(
            name: "JSONTests",
            dependencies: ["JSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MeteringTests",
            dependencies: ["Metering"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DesiredTests",
            dependencies: ["Desired", "JSON"],
            exclude: ["Corpus"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ActualTests",
            dependencies: ["Actual", "Desired", "JSON", "Metering", "CSystem"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ReconcilerTests",
            dependencies: ["Reconciler", "Desired", "Actual"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ControllerTests",
            dependencies: ["Controller", "Actual", "Desired", "JSON", "Tracing", "Gateway", "Reconciler"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "Desired", "Actual", "HTTP", "JSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HTTPTests",
            dependencies: ["HTTP"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EgressTests",
            dependencies: ["Egress", "Desired", "Actual", "HTTP"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TracingTests",
            dependencies: ["Tracing", "JSON", "HTTP"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CSystemTests",
            dependencies: ["CSystem"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Desired"],
            swiftSettings: strict
        ),
    ]
)
