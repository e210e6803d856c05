/// One parsed CSV record: the unquoted bytes of every field, and where each field starts.
///
/// The parser reuses the record's storage from one row to the next (no allocation per row); read it inside the
/// callback. A value type, so the parser's appends need no runtime exclusivity checks.
struct CSVRecord {
    /// All fields' bytes back to back.
    var bytes: [UInt8] = []
    /// End offset in `bytes` of each field.
    var ends: [Int] = []
    /// 1-based line and column (in characters) where each field starts.
    var lines: [Int] = []
    var columns: [Int] = []
    /// Where the record ends (its line break, or the end of the file).
    var endLine = 1
    var endColumn = 1

    init() {
        bytes.reserveCapacity(4096)
        ends.reserveCapacity(32)
        lines.reserveCapacity(32)
        columns.reserveCapacity(32)
    }

    var count: Int { ends.count }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        columns.removeAll(keepingCapacity: true)
    }

    func range(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    func isEmpty(_ i: Int) -> Bool { range(i).isEmpty }

    /// The field as text; nil when it is not valid UTF-8.
    func string(_ i: Int) -> String? {
        bytes.withUnsafeBufferPointer { String(validating: UnsafeBufferPointer(rebasing: $0[range(i)]), as: UTF8.self) }
    }

    /// The field as a non-negative decimal number of at most 18 digits, or nil.
    func unsigned(_ i: Int) -> Int? {
        let r = range(i)
        guard !r.isEmpty, r.count <= 18 else { return nil }
        var v = 0
        for k in r {
            let c = bytes[k]
            guard c >= 48, c <= 57 else { return nil }
            v = v &* 10 &+ Int(c &- 48)
        }
        return v
    }

    /// True when the field is only ASCII digits, 1 to `maxLength` of them.
    func isDigits(_ i: Int, maxLength: Int) -> Bool {
        let r = range(i)
        guard (1...maxLength).contains(r.count) else { return false }
        return bytes[r].allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

/// A problem in the CSV syntax itself.
struct CSVSyntaxError: Error {
    var line: Int
    var column: Int
    var message: String
}

/// A streaming RFC 4180 parser: bytes go in in chunks of any size, records come out one at a time.
///
/// Memory stays bounded by the longest record, whatever the file size. LF and CRLF line ends are accepted
/// (a CR outside quotes is dropped); a quoted field may hold commas, quotes (`""`) and line breaks.
/// Positions count lines from 1 and columns in characters (UTF-8 lead bytes) from 1.
struct CSVParser {
    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    private var state: State = .fieldStart
    private(set) var line = 1
    private(set) var column = 1
    /// Line of the first field of the record being parsed.
    private(set) var recordLine = 1
    private(set) var record = CSVRecord()

    /// Feeds `chunk`; calls `onRecord` for every complete record, `onError` for every syntax problem
    /// (the record with the problem is dropped; parsing resumes at the next line).
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>,
                       onRecord: (CSVRecord) throws -> Void,
                       onError: (CSVSyntaxError) throws -> Void) rethrows {
        let n = chunk.count
        var i = 0
        while i < n {
            let b = chunk[i]
            i += 1
            if skipping {
                advance(b)
                if b == 10 {
                    skipping = false
                    record.reset()
                    state = .fieldStart
                    recordLine = line
                }
                continue
            }
            switch state {
            case .fieldStart:
                startField()
                if b == 34 {
                    state = .quoted
                    quoteLine = line
                    quoteColumn = column
                    advance(b)
                    continue
                }
                state = .unquoted
                fallthrough
            case .unquoted:
                switch b {
                case 44:
                    endField()
                    advance(b)
                    state = .fieldStart
                case 10:
                    endField()
                    try emit(onRecord)
                    advance(b)
                    recordLine = line
                case 13:
                    advance(b)
                case 34:
                    try onError(CSVSyntaxError(line: line, column: column, message: "a quote inside an unquoted field"))
                    advance(b)
                    skipping = true
                default:
                    // Fast path: copy the whole run of ordinary bytes up to the next special one.
                    var j = i
                    var chars = b & 0xC0 != 0x80 ? 1 : 0
                    while j < n {
                        let c = chunk[j]
                        if c == 44 || c == 10 || c == 13 || c == 34 { break }
                        if c & 0xC0 != 0x80 { chars += 1 }
                        j += 1
                    }
                    record.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[(i - 1)..<j]))
                    column += chars
                    i = j
                }
            case .quoted:
                if b == 34 {
                    state = .quoteInQuoted
                    advance(b)
                } else if b == 10 {
                    record.bytes.append(b)
                    advance(b)
                } else {
                    var j = i
                    var chars = b & 0xC0 != 0x80 ? 1 : 0
                    while j < n {
                        let c = chunk[j]
                        if c == 34 || c == 10 { break }
                        if c & 0xC0 != 0x80 { chars += 1 }
                        j += 1
                    }
                    record.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[(i - 1)..<j]))
                    column += chars
                    i = j
                }
            case .quoteInQuoted:
                switch b {
                case 34:
                    record.bytes.append(34)
                    state = .quoted
                    advance(b)
                case 44:
                    endField()
                    state = .fieldStart
                    advance(b)
                case 10:
                    endField()
                    try emit(onRecord)
                    advance(b)
                    recordLine = line
                case 13:
                    advance(b)
                default:
                    try onError(CSVSyntaxError(line: line, column: column,
                                               message: "unexpected character after a closing quote"))
                    advance(b)
                    skipping = true
                }
            }
        }
    }

    /// After a syntax error the rest of the line is skipped, also across chunk boundaries.
    private var skipping = false
    /// Where the current quoted field opened, to point at it when the file ends inside it.
    private var quoteLine = 1
    private var quoteColumn = 1

    /// Ends the input: emits a last record that had no final line break, or reports an unterminated quote.
    mutating func finish(onRecord: (CSVRecord) throws -> Void,
                         onError: (CSVSyntaxError) throws -> Void) rethrows {
        if skipping { return }
        switch state {
        case .quoted:
            try onError(CSVSyntaxError(line: quoteLine, column: quoteColumn,
                                       message: "the file ends inside the quoted field that starts here (truncated file?)"))
        case .unquoted, .quoteInQuoted:
            endField()
            try emit(onRecord)
        case .fieldStart:
            // A trailing comma on the last line without a line break still ends a field.
            if record.count > 0 {
                startField()
                endField()
                try emit(onRecord)
            }
        }
    }

    @inline(__always)
    private mutating func advance(_ b: UInt8) {
        if b == 10 {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1
        }
    }

    @inline(__always)
    private mutating func startField() {
        record.lines.append(line)
        record.columns.append(column)
    }

    @inline(__always)
    private mutating func endField() {
        record.ends.append(record.bytes.count)
    }

    private mutating func emit(_ onRecord: (CSVRecord) throws -> Void) rethrows {
        state = .fieldStart
        record.endLine = line
        record.endColumn = column
        defer { record.reset() }
        try onRecord(record)
    }
}
