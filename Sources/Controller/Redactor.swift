import Foundation

/// Removes secrets from text before it is logged or audited: every value of every `secrets:`
/// variable of the current desired state, and common token shapes whatever their source.
struct Redactor: Sendable {
    static let mask = "[REDACTED]"
    /// Token shapes that are secrets wherever they appear (GitHub, Slack, OpenAI-style, AWS,
    /// JWTs, bearer and basic credentials, the egress proxy's per-instance tokens).
    private static let patterns: [NSRegularExpression] = [
        #"gh[pousr]_[A-Za-z0-9]{20,}"#, #"github_pat_[A-Za-z0-9_]{20,}"#, #"xox[abposr]-[A-Za-z0-9-]{10,}"#,
        #"sk-[A-Za-z0-9_-]{20,}"#, #"AKIA[0-9A-Z]{16}"#, #"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#,
        #"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"#, #"omxp_[0-9a-f]{8,}"#,
    ].compactMap { try? NSRegularExpression(pattern: $0) }

    /// Secret values, longest first (so a secret containing another is masked whole). Values
    /// shorter than 4 characters are not masked: they would shred every log line.
    private let values: [String]

    init(secrets: [String] = []) {
        values = Set(secrets.filter { $0.count >= 4 }).sorted { $0.count > $1.count }
    }

    func redact(_ text: String) -> String {
        var out = text
        for value in values where out.contains(value) { out = out.replacingOccurrences(of: value, with: Redactor.mask) }
        // Every pattern starts with one of a few prefixes: text without any (nearly every log
        // field) skips the regular expressions, which cost tens of microseconds per string.
        guard Redactor.mayHoldToken(out) else { return out }
        for pattern in Redactor.patterns {
            let range = NSRange(out.startIndex..., in: out)
            out = pattern.stringByReplacingMatches(in: out, range: range, withTemplate: Redactor.mask)
        }
        return out
    }

    /// Whether `text` contains a prefix some token pattern starts with (`gh`, `github_pat_`, `xox`, `sk-`,
    /// `AKIA`, `eyJ`, `omxp_`, or `bearer`/`basic` in any case). False means no pattern can match.
    static func mayHoldToken(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func at(_ index: Int, _ needle: StaticString, ignoringCase: Bool = false) -> Bool {
            let count = needle.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            let start = needle.utf8Start
            for offset in 0..<count {
                var byte = bytes[index + offset]
                if ignoringCase, byte >= 0x41, byte <= 0x5A { byte += 0x20 }
                if byte != start[offset] { return false }
            }
            return true
        }
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "g"): if at(index, "gh") || at(index, "github_pat_") { return true }
            case UInt8(ascii: "x"): if at(index, "xox") { return true }
            case UInt8(ascii: "s"): if at(index, "sk-") { return true }
            case UInt8(ascii: "A"): if at(index, "AKIA") { return true }
            case UInt8(ascii: "e"): if at(index, "eyJ") { return true }
            case UInt8(ascii: "o"): if at(index, "omxp_") { return true }
            case UInt8(ascii: "b"), UInt8(ascii: "B"):
                if at(index, "bearer", ignoringCase: true) || at(index, "basic", ignoringCase: true) { return true }
            default: break
            }
        }
        return false
    }
}
