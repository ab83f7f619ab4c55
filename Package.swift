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
        .executable(name: "controller", targets: ["Controller"])
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
        .target(
            name: "Desired",
            dependencies: ["CYAML"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Controller",
            dependencies: ["Desired"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DesiredTests",
            dependencies: ["Desired"],
            exclude: ["Corpus"],
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
