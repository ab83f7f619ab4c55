import Foundation

/// Runs the built `controller` binary as a user would and captures what it prints.
struct ControllerProcess {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The package root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `.build/debug/controller`, which `swift test` builds with the tests.
    static let binary = root + "/.build/debug/controller"

    /// What a child controller gets besides the test's variables: under
    /// `swift test --enable-code-coverage`, the profile pattern SwiftPM gave this process, so
    /// the child's counters land beside the test binary's and are merged into the coverage
    /// export (Sources/Controller is mostly exercised through the binary).
    static let profile: [String: String] =
        ProcessInfo.processInfo.environment["LLVM_PROFILE_FILE"].map {
            ["LLVM_PROFILE_FILE": $0]
        } ?? [:]

    /// Runs `controller arguments…` in `directory` with exactly `environment` (plus PATH).
    static func run(_ arguments: [String], in directory: String = root, environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"].merging(profile) { a, _ in a }) { a, _ in a }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A throwaway root directory for one test.
final class Scratch {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "omni-e2e-" + UUID().uuidString
        for directory in ["servers", "config"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try write(".env.example", "OMNI_API_TOKENS=\n")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + relative))
    }
}
