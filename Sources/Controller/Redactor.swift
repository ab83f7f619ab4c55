import Foundation

/// Removes secrets from text before it is logged or audited: every value of every `secrets:`
/// variable of the current desired state, and common token shapes whatever their source.
struct Redactor: Sendable {
    static let mask = "[REDACTED]"
    /// Token shapes that are secrets wherever they appear (GitHub, Slack, OpenAI-style, AWS,
    /// JWTs, bearer and basic credentials).
    private static let patterns: [NSRegularExpression] = [
        #"gh[pousr]_[A-Za-z0-9]{20,}"#, #"github_pat_[A-Za-z0-9_]{20,}"#, #"xox[abposr]-[A-Za-z0-9-]{10,}"#,
        #"sk-[A-Za-z0-9_-]{20,}"#, #"AKIA[0-9A-Z]{16}"#, #"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#,
        #"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"#,
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
        for pattern in Redactor.patterns {
            let range = NSRange(out.startIndex..., in: out)
            out = pattern.stringByReplacingMatches(in: out, range: range, withTemplate: Redactor.mask)
        }
        return out
    }
}
