/// A strict command-line reader: `--name value`, `--name=value` and `--flag`; anything it was
/// not asked about is an error, so a typo never silently changes behaviour.
struct Arguments {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    private var remaining: [String]

    init(_ arguments: [String]) {
        remaining = arguments
    }

    /// Takes `--name VALUE` or `--name=VALUE`; nil when absent.
    mutating func option(_ name: String) throws(Problem) -> String? {
        var value: String?
        var index = 0
        while index < remaining.count {
            let argument = remaining[index]
            if argument == name {
                guard index + 1 < remaining.count else { throw Problem(description: "\(name) needs a value") }
                value = remaining[index + 1]
                remaining.removeSubrange(index...(index + 1))
            } else if argument.hasPrefix(name + "=") {
                value = String(argument.dropFirst(name.count + 1))
                remaining.remove(at: index)
            } else {
                index += 1
            }
        }
        return value
    }

    /// Takes `--name VALUE` and checks it is one of `choices`.
    mutating func choice(_ name: String, _ choices: [String], default fallback: String) throws(Problem) -> String {
        let value = try option(name) ?? fallback
        guard choices.contains(value) else {
            throw Problem(description: "\(name) must be one of \(choices.joined(separator: ", ")), not \"\(value)\"")
        }
        return value
    }

    /// Takes `--name`; true when present.
    mutating func flag(_ name: String) -> Bool {
        let before = remaining.count
        remaining.removeAll { $0 == name }
        return remaining.count != before
    }

    /// Whether `--help` or `-h` was given (both are taken).
    mutating func wantsHelp() -> Bool {
        let long = flag("--help")
        return flag("-h") || long
    }

    /// Fails on anything left over.
    func finish() throws(Problem) {
        if let first = remaining.first {
            throw Problem(description: first.hasPrefix("-") ? "unknown option \(first)" : "unexpected argument \"\(first)\"")
        }
    }
}
