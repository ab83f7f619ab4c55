/// A place in an input: a file and a 1-based line and column.
///
/// Positions that do not come from a file (the environment, built-in defaults) use line 0,
/// and print without line and column.
public struct SourcePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// A position for a value that came from somewhere other than a file, e.g. `environment`.
    public static func origin(_ name: String) -> SourcePosition {
        SourcePosition(file: name, line: 0, column: 0)
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column)" : file
    }

    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
