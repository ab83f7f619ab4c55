import CYAML

/// Reads one YAML document into a positioned `YAMLNode` tree with libyaml's event parser.
///
/// Contract: returns the root node, or nil for a file with no content; throws exactly one
/// `Diagnostic` (with `file:line:col`) for the first problem, because a parse cannot go on
/// past a syntax error. Enforced here, whatever the caller: the size, depth and alias limits,
/// well-formed UTF-8, one document per file, scalar and unique mapping keys, defined anchors,
/// and no tags but the standard ones.
public enum YAMLParser {
    /// The error for a file of `size` bytes over the limit (also used by readers that stop
    /// reading at the limit and learn the real size from the file system).
    static func tooLarge(_ size: Int, file: String, limits: YAMLLimits) -> Diagnostic {
        Diagnostic(
            at: SourcePosition(file: file, line: 1, column: 1), "file is \(size) bytes; the limit is \(limits.maxBytes) bytes",
            hint: "a manifest is usually under 4 KiB; is this the right file?")
    }

    public static func parse(
        _ bytes: [UInt8],
        file: String,
        limits: YAMLLimits = .standard
    ) throws(Diagnostic) -> YAMLNode? {
        let start = SourcePosition(file: file, line: 1, column: 1)
        if bytes.count > limits.maxBytes { throw tooLarge(bytes.count, file: file, limits: limits) }
        if let offset = firstInvalidUTF8Offset(bytes) {
            let (line, column) = lineAndColumn(of: offset, in: bytes)
            throw Diagnostic(
                at: SourcePosition(file: file, line: line, column: column),
                "invalid UTF-8 (byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at offset \(offset))",
                hint: "save the file as UTF-8")
        }
        var builder = TreeBuilder(file: file, limits: limits)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw Diagnostic(at: start, "out of memory initialising the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(Diagnostic) -> YAMLNode? in
            // libyaml keeps the pointer; it stays valid for the whole closure, which owns the parse.
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    throw syntaxError(parser, file: file, bytes: buffer)
                }
                defer { yaml_event_delete(&event) }
                if try builder.consume(event) { return builder.root }
            }
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t, file: String, bytes: UnsafeBufferPointer<UInt8>) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        var message = "YAML syntax error: \(problem)"
        if let context = parser.context {
            message += " (\(String(cString: context)) that started at line \(parser.context_mark.line + 1))"
        }
        let mark = parser.problem_mark
        // libyaml's "cannot start any token" for a tab is cryptic; a tab is the usual cause.
        let offset = Int(mark.index)
        let hint: String? =
            offset < bytes.count && bytes[offset] == UInt8(ascii: "\t") ? "YAML indents with spaces; this line has a tab" : nil
        return Diagnostic(
            at: SourcePosition(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1),
            message, hint: hint)
    }
}

/// Turns libyaml events into a tree; one frame per open collection.
private struct TreeBuilder {
    /// A class so that appending to an open collection mutates in place: an enum payload
    /// bound with `var` is a copy, which made every append copy the whole array (quadratic).
    private final class Frame {
        let isMapping: Bool
        let start: SourcePosition
        let anchor: String?
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var key: (String, SourcePosition)?
        var seen: [String: SourcePosition] = [:]

        init(isMapping: Bool, start: SourcePosition, anchor: String?) {
            self.isMapping = isMapping
            self.start = start
            self.anchor = anchor
        }
    }

    let file: String
    let limits: YAMLLimits
    private var stack: [Frame] = []
    /// Anchored nodes with their node counts, so an alias costs no walk of its target.
    private var anchors: [String: (node: YAMLNode, count: Int)] = [:]
    private var aliasNodes = 0
    private var documents = 0
    private(set) var root: YAMLNode?

    init(file: String, limits: YAMLLimits) {
        self.file = file
        self.limits = limits
    }

    private func position(_ mark: yaml_mark_t) -> SourcePosition {
        SourcePosition(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// Handles one event; returns true at the end of the stream.
    mutating func consume(_ event: yaml_event_t) throws(Diagnostic) -> Bool {
        let at = position(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw Diagnostic(
                    at: at, "a file holds one YAML document; this is a second one",
                    hint: "put each server in its own file and remove the `---` separator")
            }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = string(scalar.value, length: scalar.length)
            var plain = scalar.style == YAML_PLAIN_SCALAR_STYLE
            if let tag = scalar.tag.map({ string($0) }) {
                guard tag == "tag:yaml.org,2002:str" || tag == "!" else {
                    throw unsupportedTag(tag, at: at)
                }
                plain = false
            }
            try add(YAMLNode(.scalar(text, plain: plain), at: at), anchor: scalar.anchor.map { string($0) })
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            try checkCollectionTag(start.tag, allowed: "tag:yaml.org,2002:seq", at: at)
            try push(Frame(isMapping: false, start: at, anchor: start.anchor.map { string($0) }), at: at)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            try checkCollectionTag(start.tag, allowed: "tag:yaml.org,2002:map", at: at)
            try push(Frame(isMapping: true, start: at, anchor: start.anchor.map { string($0) }), at: at)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return false }
            let kind: YAMLNode.Kind = frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items)
            try add(YAMLNode(kind, at: frame.start), anchor: frame.anchor)
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor)
            guard let target = anchors[name] else {
                throw Diagnostic(at: at, "alias *\(name) refers to no anchor defined before it")
            }
            aliasNodes += target.count
            if aliasNodes > limits.maxAliasNodes {
                throw Diagnostic(
                    at: at,
                    "aliases expand to more than \(limits.maxAliasNodes) nodes",
                    hint: "this looks like a billion-laughs document; write the values out instead")
            }
            var copy = target.node
            copy.position = at
            try add(copy, anchor: nil)
        default:
            break
        }
        return false
    }

    private mutating func push(_ frame: Frame, at: SourcePosition) throws(Diagnostic) {
        if stack.count >= limits.maxDepth {
            throw Diagnostic(at: at, "nesting is deeper than \(limits.maxDepth) levels")
        }
        stack.append(frame)
    }

    private mutating func add(_ node: YAMLNode, anchor: String?) throws(Diagnostic) {
        if let anchor { anchors[anchor] = (node, node.nodeCount) }
        guard let top = stack.last else {
            root = node
            return
        }
        guard top.isMapping else {
            top.items.append(node)
            return
        }
        if let (name, keyAt) = top.key {
            top.pairs.append(YAMLPair(key: name, keyPosition: keyAt, value: node))
            top.key = nil
            return
        }
        guard case .scalar(let name, _) = node.kind else {
            throw Diagnostic(at: node.position, "mapping keys must be plain text, not a list or a map")
        }
        if let first = top.seen[name] {
            throw Diagnostic(
                at: node.position, "duplicate key \"\(name)\" (first defined at line \(first.line))",
                hint: "remove one of them; YAML does not merge repeated keys")
        }
        top.seen[name] = node.position
        top.key = (name, node.position)
    }

    private func checkCollectionTag(
        _ tag: UnsafeMutablePointer<yaml_char_t>?, allowed: String, at: SourcePosition
    ) throws(Diagnostic) {
        guard let tag = tag.map({ string($0) }), tag != allowed, tag != "!" else { return }
        throw unsupportedTag(tag, at: at)
    }

    private func unsupportedTag(_ tag: String, at: SourcePosition) -> Diagnostic {
        Diagnostic(at: at, "unsupported YAML tag \(tag)", hint: "remove the tag; only !!str is accepted")
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>, length: Int? = nil) -> String {
        let count = length ?? strlen(UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
        // The input was checked to be UTF-8 before parsing, and libyaml only copies from it.
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }
}
