import Foundation

/// A root directory laid out as DESIGN.md says (`servers/`, `config/`, `.env`, `.env.example`),
/// read in one go. The only file-system code in `Desired`.
public struct Workspace: Sendable {
    public var root: String
    /// The config layer to load on top of `default.yaml`; nil means `$OMNI_ENV` (from the
    /// environment or `.env`), and empty means none.
    public var envName: String?
    public var limits: YAMLLimits
    /// The disk under `root`, or the files a client sent (then `root` only labels diagnostics).
    public var files: WorkspaceFiles

    public init(root: String, envName: String?, limits: YAMLLimits = .standard, files: WorkspaceFiles = .disk) {
        self.root = root
        self.envName = envName
        self.limits = limits
        self.files = files
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
        /// What each file parsed to, for the next load to reuse where the file is unchanged.
        public var parsed = ParsedFiles()
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
        guard let text = try? readText(".env") else { return (process, []) }
        let (file, diagnostics) = DotEnvFile.parse(text, file: display(".env"))
        return (process.addingDefaults(file), diagnostics)
    }

    /// The config layer a load with this environment reads on top of `default.yaml`: `envName`,
    /// else `OMNI_ENV`; nil when neither names one.
    public func layerName(_ environment: Environment) -> String? {
        let chosen = envName ?? environment["OMNI_ENV"]
        return chosen?.isEmpty == false ? chosen : nil
    }

    /// Reads everything. With `lastGood` (from the previous load), invalid files fall back to
    /// their last good content, as `LastGood` says; the diagnostics still report them. With
    /// `reuse` (the previous load's `parsed`), a file on disk whose `FileStamp` is unchanged is
    /// not read or parsed again; without it (a lost-event rescan, SIGHUP) every file is.
    public func load(_ process: Environment, lastGood previous: LastGood? = nil, reuse: ParsedFiles? = nil) -> Load {
        var parsed = ParsedFiles()
        let (environment, envDiagnostics) = environment(process)
        var diagnostics = envDiagnostics
        var configFiles: [String] = []
        var layers: [(path: String, node: YAMLNode)] = []
        var layersValid = true
        var kept: [String] = []
        let envName = layerName(environment)
        for name in ["default", envName, "local"].compactMap({ $0 }) {
            let relative = "config/\(name).yaml"
            let path = display(relative)
            guard exists(relative) else {
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
            let (node, problems) = parse(relative, reuse: reuse?.layers, into: &parsed.layers, count: &parsed.parsedCount) {
                ConfigLayers.read($0, file: path, limits: limits)
            }
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
            let name = (path as NSString).lastPathComponent
            let stem = String(name.dropLast(5))
            let (manifest, problems) = parse(
                "servers/" + name, reuse: reuse?.manifests, into: &parsed.manifests, count: &parsed.parsedCount
            ) { ManifestReader.read($0, file: path, stem: stem, limits: limits) }
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
            manifests: manifests, keptLastGood: kept, lastGood: next, parsed: parsed)
    }

    /// `servers/*.yaml`, sorted; editor temp files and other extensions ignored (`.yml` with a warning).
    func manifestPaths(_ diagnostics: inout [Diagnostic]) -> [String] {
        let directory = display("servers")
        guard let names = listing("servers") else {
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
        let names = listing("config") ?? []
        return names.filter { $0.hasSuffix(".yaml") && $0 != "default.yaml" && $0 != "local.yaml" }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Reads at most `limits.maxBytes + 1` bytes of the file at `relative` (so a huge file is
    /// refused without being read whole) and hands them to `decode`; an unreadable file is one error.
    private func readFile<T>(_ relative: String, _ decode: ([UInt8]) -> (T?, [Diagnostic])) -> (T?, [Diagnostic]) {
        let path = display(relative)
        do {
            let bytes = try readBytes(relative, max: limits.maxBytes + 1)
            if bytes.count > limits.maxBytes {
                // Only the first bytes were read; report the file's real size.
                return (nil, [YAMLParser.tooLarge(size(relative) ?? bytes.count, file: path, limits: limits)])
            }
            return decode(bytes)
        } catch {
            return (nil, [Diagnostic(at: .origin(path), "cannot read the file: \(error.localizedDescription)")])
        }
    }

    /// The config layers and manifests under the root, as `.sent` files for a running
    /// controller's dry run: every `config/*.yaml` (the controller picks its own layers from
    /// them) and `servers/*.yaml`, each read to at most `limits.maxBytes + 1` bytes (the
    /// controller refuses a larger one as a reload would). Throws for an unreadable file.
    public func filesToSend() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for directory in ["config", "servers"] {
            for name in (listing(directory) ?? []).sorted() where name.hasSuffix(".yaml") && !name.hasPrefix(".") {
                let relative = directory + "/" + name
                guard WorkspaceFiles.problem(sentPath: relative) == nil else { continue }
                out[relative] = try readBytes(relative, max: limits.maxBytes + 1)
            }
        }
        return out
    }

    /// `readFile(relative, decode)`, or the parse `reuse` holds for the file when its stamp is
    /// unchanged; the parse and stamp go into `table` either way (sent files have no stamp and
    /// are always parsed), and `count` counts the files parsed.
    private func parse<Value: Sendable>(
        _ relative: String, reuse: [String: ParsedFiles.Stamped<Value>]?, into table: inout [String: ParsedFiles.Stamped<Value>],
        count: inout Int, decode: ([UInt8]) -> (Value?, [Diagnostic])
    ) -> (Value?, [Diagnostic]) {
        let stamp = files == .disk ? FileStamp(path: display(relative)) : nil
        if let stamp, let entry = reuse?[relative], entry.stamp == stamp {
            table[relative] = entry
            return (entry.value, entry.problems)
        }
        let (value, problems) = readFile(relative, decode)
        count += 1
        // Stamped before the read: a write during the read changes the stamp, so the next load
        // parses again rather than keeping a torn read.
        if let stamp { table[relative] = ParsedFiles.Stamped(stamp: stamp, value: value, problems: problems) }
        return (value, problems)
    }

    // MARK: - The files, on disk or sent

    func exists(_ relative: String) -> Bool {
        switch files {
        case .disk: FileManager.default.fileExists(atPath: display(relative))
        case .sent(let sent): sent[relative] != nil
        }
    }

    /// The names in a directory (`servers`, `config`), or nil when there is none.
    func listing(_ directory: String) -> [String]? {
        switch files {
        case .disk:
            return try? FileManager.default.contentsOfDirectory(atPath: display(directory))
        case .sent(let sent):
            let prefix = directory + "/"
            let names = sent.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            // A client that sent no manifests has a servers directory with none in it.
            return names.isEmpty && directory != "servers" ? nil : names
        }
    }

    private func size(_ relative: String) -> Int? {
        switch files {
        case .disk: (try? FileManager.default.attributesOfItem(atPath: display(relative))[.size]) as? Int
        case .sent(let sent): sent[relative]?.count
        }
    }

    func readBytes(_ relative: String, max: Int) throws -> [UInt8] {
        if case .sent(let sent) = files {
            guard let bytes = sent[relative] else { throw CocoaError(.fileNoSuchFile) }
            return Array(bytes.prefix(max))
        }
        let path = display(relative)
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

    func readText(_ relative: String) throws -> String {
        String(decoding: try readBytes(relative, max: limits.maxBytes), as: UTF8.self)
    }
}
