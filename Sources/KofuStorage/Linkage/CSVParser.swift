/// One parsed CSV record: the unquoted bytes of every field, and where each field starts.
///
/// The parser reuses the record's storage from one row to the next (no allocation per row); read it inside the
/// callback. A value type, so the parser's appends need no runtime exclusivity checks.
struct CSVRecord {
    /// All fields' bytes back to back.
    var bytes: [UInt8] = []
    /// End offset in `bytes` of each field.
    var ends: [Int] = []
    /// 1-based line and column (in characters) where each field starts (its opening quote, if quoted).
    var lines: [Int] = []
    var columns: [Int] = []
    /// Per field: it was quoted, so its characters sit one column right of the start and each `"` in it took two.
    var quoted: [Bool] = []
    /// The opening quote of the first quoted field of this record that runs over a line break: a legal field, or
    /// an unclosed quote that swallowed the following lines. Where the record then breaks, this says which.
    var multilineQuote: (line: Int, column: Int)?
    /// Where the record ends (its line break, or the end of the file).
    var endLine = 1
    var endColumn = 1

    init() {
        bytes.reserveCapacity(4096)
        ends.reserveCapacity(32)
        lines.reserveCapacity(32)
        columns.reserveCapacity(32)
        quoted.reserveCapacity(32)
    }

    var count: Int { ends.count }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        columns.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
        multilineQuote = nil
    }

    /// True for an empty line: one unquoted empty field.
    var isBlankLine: Bool { count == 1 && ends[0] == 0 && !quoted[0] }

    /// Line and column of the character that starts at byte `offset` of field `i`, counted the way the file
    /// shows it: a quoted field's content starts after its quote, a `""` inside it is two characters, and a line
    /// break inside it starts a new line.
    func position(field i: Int, byteOffset offset: Int) -> (line: Int, column: Int) {
        var line = lines[i]
        var column = columns[i] + (quoted[i] ? 1 : 0)
        let r = range(i)
        for k in r.lowerBound..<min(r.lowerBound + offset, r.upperBound) {
            let b = bytes[k]
            if b == 10 {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += b == 34 && quoted[i] ? 2 : 1
            }
        }
        return (line, column)
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
    /// The file's structure cannot be trusted past this point (lone CR line ends, an unclosed quote): the parser
    /// stops, so one root cause gives one message instead of one per following line.
    var stopsFile = false
}

/// A streaming RFC 4180 parser: bytes go in in chunks of any size, records come out one at a time.
///
/// Memory stays bounded by the longest record, whatever the file size. LF and CRLF line ends are accepted; a
/// CR that does not start a CRLF outside quotes stops the file (lone-CR line ends would make the whole file one
/// line). A quoted field may hold commas, quotes (`""`) and line breaks. Positions count lines from 1 and
/// columns in characters (UTF-8 lead bytes) from 1.
struct CSVParser {
    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    private var state: State = .fieldStart
    private(set) var line = 1
    private(set) var column = 1
    /// Line of the first field of the record being parsed.
    private(set) var recordLine = 1
    private(set) var record = CSVRecord()
    /// A problem that stops the file was reported: everything after it is ignored.
    private(set) var stopped = false

    /// Feeds `chunk`; calls `onRecord` for every complete record, `onError` for every syntax problem
    /// (the record with the problem is dropped; parsing resumes at the next line, or not at all after an error
    /// that `stopsFile`).
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>,
                       onRecord: (CSVRecord) throws -> Void,
                       onError: (CSVSyntaxError) throws -> Void) rethrows {
        let n = chunk.count
        var i = 0
        while i < n {
            if stopped { return }
            let b = chunk[i]
            i += 1
            if let cr = pendingCR {
                pendingCR = nil
                if b != 10 {
                    stopped = true
                    try onError(CSVSyntaxError(line: cr.line, column: cr.column, message:
                        "a line ends with a lone CR (carriage return without line feed); linkage files end lines with LF or CRLF; the rest of the file was not checked",
                        stopsFile: true))
                    return
                }
            }
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
                startField(quoted: b == 34)
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
                    pendingCR = (line, column)
                    advance(b)
                case 34:
                    try syntaxError("a quote inside an unquoted field", onError)
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
                    if record.multilineQuote == nil { record.multilineQuote = (quoteLine, quoteColumn) }
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
                    pendingCR = (line, column)
                    advance(b)
                default:
                    try syntaxError("unexpected character after a closing quote", onError)
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
    /// A CR outside quotes, which must be followed by LF.
    private var pendingCR: (line: Int, column: Int)?

    /// Reports a syntax error at the current position; when the record holds a quoted field that ran over a line
    /// break, the likely cause is that field's quote never being closed, and everything after it is misread, so
    /// the error points at that quote and stops the file.
    private mutating func syntaxError(_ message: String, _ onError: (CSVSyntaxError) throws -> Void) rethrows {
        if let open = record.multilineQuote {
            stopped = true
            try onError(CSVSyntaxError(line: open.line, column: open.column, message:
                "unclosed quote? the quoted field that starts here runs on to line \(line), where the record breaks (\(message)); the rest of the file was not checked",
                stopsFile: true))
        } else {
            try onError(CSVSyntaxError(line: line, column: column, message: message))
        }
    }

    /// Ends the input: emits a last record that had no final line break, or reports an unterminated quote.
    mutating func finish(onRecord: (CSVRecord) throws -> Void,
                         onError: (CSVSyntaxError) throws -> Void) rethrows {
        // A CR as the very last byte ends the last line: there is nothing after it to misread.
        pendingCR = nil
        if skipping || stopped { return }
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
                startField(quoted: false)
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
    private mutating func startField(quoted: Bool) {
        record.lines.append(line)
        record.columns.append(column)
        record.quoted.append(quoted)
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
