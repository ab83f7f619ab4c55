/// Finds the first byte at which `bytes` stops being well-formed UTF-8 (RFC 3629: no
/// overlongs, no surrogates, nothing above U+10FFFF), or nil when all of it is well formed.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var index = 0
    while index < bytes.count {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0x00...0x7F: length = 1
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return index
        }
        if index + length > bytes.count { return index }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            // Only the second byte has the narrowed range; the rest are plain continuations.
            let range: ClosedRange<UInt8> = offset == 1 ? low...high : 0x80...0xBF
            if !range.contains(byte) { return index }
        }
        index += length
    }
    return nil
}

/// The 1-based line and column of a byte offset (columns count bytes).
func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
    var line = 1
    var lineStart = 0
    for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
        line += 1
        lineStart = index + 1
    }
    return (line, offset - lineStart + 1)
}
