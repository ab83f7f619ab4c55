import Foundation

/// A root directory laid out as DESIGN.md says (`servers/`, `config/`, `.env`, `.env.example`),
/// read in one go. The only file-system code in `Desired`.
public struct Workspace: Sendable {
    public var root: String
    /// The config layer to load on top of `default.yaml`; nil means `$OMNI_ENV` (from the
    /// environment or `.env`), and empty means none.
    public var envName: String?
    public var limits: YAMLLimits

    public init(root: String, envName: String?, limits: YAMLLimits = .standard) {
        self.root = root
        self.envName = envName
        self.limits = limits
    }

    /// Everything one load found: the state (nil when config is invalid), every diagnostic,
    /// and what was read.
    public struct Load: Sendable {
        public var state: DesiredState?
        public var diagnostics: [Diagnostic]
        /// Manifest files read, valid or not, by display path.
        public var manifestFiles: [String]
        public var configFiles: [String]
        /// Every valid manifest, including those with a cross-field problem the state left out.
        public var manifests: [Manifest]
        /// Files that are invalid now and were replaced by their last good content.
        public var keptLastGood: [String] = []
        /// What the next load falls back to (DESIGN.md principle 3).
        public var lastGood = LastGood()
    }

    /// The last valid content of every file, so that an invalid edit changes nothing: an invalid
    /// manifest keeps its last good version (it is never read as a deletion), and an invalid
    /// config layer keeps the whole last good config. A file that is really gone is gone.
    public struct LastGood: Sendable {
        public var manifests: [String: Manifest] = [:]
        /// Every config layer of the last load in which all layers were valid, by path.
        public var layers: [(path: String, node: YAMLNode)]?

        public init() {}
    }

    /// `servers/x.yaml` under the root as shown in diagnostics (relative when the root is `.`).
    public func display(_ relative: String) -> String {
        root == "." || root.isEmpty ? relative : (root.hasSuffix("/") ? root + relative : root + "/" + relative)
    }

    /// The controller's environment with `.env` (if present) underneath it.
    public func environment(_ process: Environment) -> (Environment, [Diagnostic]) {
        let path = display(".env")
        guard let text = try? readText(path) else { return (process, []) }
        let (file, diagnostics) = DotEnvFile.parse(text, file: path)
        return (process.addingDefaults(file), diagnostics)
    }

    /// Reads everything. With `lastGood` (from the previous load), invalid files fall back to
    /// their last good content, as `LastGood` says; the diagnostics still report them.
    public func load(_ process: Environment, lastGood previous: LastGood? = nil) -> Load {
        let (environment, envDiagnostics) = environment(process)
        var diagnostics = envDiagnostics
        var configFiles: [String] = []
        var layers: [(path: String, node: YAMLNode)] = []
        var layersValid = true
        var kept: [String] = []
        let chosen = envName ?? environment["OMNI_ENV"]
        let envName = chosen?.isEmpty == false ? chosen : nil
        for name in ["default", envName, "local"].compactMap({ $0 }) {
            let path = display("config/\(name).yaml")
            guard FileManager.default.fileExists(atPath: path) else {
                if name == envName {
                    diagnostics.append(
                        Diagnostic(
                            at: .origin(display("config")), "no config layer \"\(name)\" (\(path) does not exist)",
                            hint: "set OMNI_ENV or --env to one of: \(layerNames().joined(separator: ", "))"))
                    layersValid = false
                }
                continue
            }
            configFiles.append(path)
            let (node, problems) = readFile(path) { ConfigLayers.read($0, file: path, limits: limits) }
            diagnostics += problems
            if let node { layers.append((path, node)) } else { layersValid = false }
        }
        var next = LastGood()
        if layersValid {
            next.layers = layers
        } else if let good = previous?.layers {
            // One invalid layer keeps the whole last good config: a half-merged config could
            // enable or change servers nobody meant to touch.
            kept += configFiles.filter { path in !layers.contains { $0.path == path } }
            layers = good
            layersValid = true
            next.layers = good
        }
        var manifests: [Manifest] = []
        let manifestFiles = manifestPaths(&diagnostics)
        for path in manifestFiles {
            let stem = String((path as NSString).lastPathComponent.dropLast(5))
            let (manifest, problems) = readFile(path) { ManifestReader.read($0, file: path, stem: stem, limits: limits) }
            diagnostics += problems
            if let manifest {
                manifests.append(manifest)
                next.manifests[path] = manifest
            } else if let good = previous?.manifests[path] {
                manifests.append(good)
                next.manifests[path] = good
                kept.append(path)
            }
        }
        var state: DesiredState?
        if layersValid {
            var (config, problems) = ConfigLayers.merge(layers.map(\.node), environment: environment)
            diagnostics += problems
            if config == nil, let good = previous?.layers {
                // The layers parse but do not merge into a valid config: keep the last good one.
                config = ConfigLayers.merge(good.map(\.node), environment: environment).0
                kept += configFiles.filter { !kept.contains($0) }
                next.layers = good
            }
            if let config {
                var (built, buildProblems) = DesiredState.build(config: config, manifests: manifests, environment: environment)
                // A manifest that parses but fails a cross-field check (its own edit, or a
                // config change under it) is dropped by the build; with a last good version it
                // must keep running as it was instead of being read as removed.
                let failing = Set(buildProblems.filter { $0.severity == .error }.map(\.position.file))
                var substituted = false
                for (index, manifest) in manifests.enumerated() where failing.contains(manifest.file) {
                    guard let good = previous?.manifests[manifest.file], good != manifest else { continue }
                    manifests[index] = good
                    next.manifests[manifest.file] = good
                    kept.append(manifest.file)
                    substituted = true
                }
                if substituted {
                    let retry = DesiredState.build(config: config, manifests: manifests, environment: environment)
                    built = retry.0
                    buildProblems += retry.1.filter { retried in !buildProblems.contains(retried) }
                }
                for file in failing where previous?.manifests[file] == nil { next.manifests[file] = nil }
                diagnostics += buildProblems
                state = built
            }
        }
        return Load(
            state: state, diagnostics: diagnostics.normalized(), manifestFiles: manifestFiles, configFiles: configFiles,
            manifests: manifests, keptLastGood: kept, lastGood: next)
    }

    /// `servers/*.yaml`, sorted; editor temp files and other extensions ignored (`.yml` with a warning).
    func manifestPaths(_ diagnostics: inout [Diagnostic]) -> [String] {
        let directory = display("servers")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            diagnostics.append(Diagnostic(.warning, at: .origin(directory), "no servers directory; no server will run"))
            return []
        }
        var paths: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            if name.hasSuffix(".yaml") {
                paths.append(directory + "/" + name)
            } else if name.hasSuffix(".yml") {
                diagnostics.append(
                    Diagnostic(
                        .warning, at: .origin(directory + "/" + name), "ignored: manifests end in .yaml",
                        hint: "rename it to \(name.dropLast(4)).yaml"))
            }
        }
        return paths
    }

    /// The names of the layers under `config/` other than `default` and `local`.
    func layerNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: display("config"))) ?? []
        return names.filter { $0.hasSuffix(".yaml") && $0 != "default.yaml" && $0 != "local.yaml" }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Reads at most `limits.maxBytes + 1` bytes (so a huge file is refused without being read
    /// whole) and hands them to `decode`; an unreadable file is one error.
    private func readFile<T>(_ path: String, _ decode: ([UInt8]) -> (T?, [Diagnostic])) -> (T?, [Diagnostic]) {
        do {
            let bytes = try readBytes(path, max: limits.maxBytes + 1)
            if bytes.count > limits.maxBytes {
                // Only the first bytes were read; report the file's real size.
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? bytes.count
                return (nil, [YAMLParser.tooLarge(size, file: path, limits: limits)])
            }
            return decode(bytes)
        } catch {
            return (nil, [Diagnostic(at: .origin(path), "cannot read the file: \(error.localizedDescription)")])
        }
    }

    func readBytes(_ path: String, max: Int) throws -> [UInt8] {
        // Only regular files (symlinks followed, as ConfigMaps need): opening a FIFO or a
        // device would block the reload for as long as nobody writes to it.
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            let what = (info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file"
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: what])
        }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return Array(try handle.read(upToCount: max) ?? Data())
    }

    func readText(_ path: String) throws -> String {
        String(decoding: try readBytes(path, max: limits.maxBytes), as: UTF8.self)
    }
}
