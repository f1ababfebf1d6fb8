import Foundation
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Failure to write the results file: always fatal for a session.
public struct ResultsWriteError: Error, CustomStringConvertible {
    public var description: String
}

/// Appends one JSON line per call and flushes it to stable storage (fsync) before returning,
/// so a crash loses at most the line being written.
public final class ResultsWriter {
    public let url: URL
    private let handle: FileHandle
    public private(set) var entryCount: Int

    public init(url: URL, existingEntries: Int = 0) throws {
        self.url = url
        entryCount = existingEntries
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ResultsWriteError(description: "cannot create \(url.path)")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw ResultsWriteError(description: "cannot open \(url.path) for appending: \(error)")
        }
    }

    deinit { try? handle.close() }

    public func append(_ line: ResultLine) throws {
        do {
            let text = try line.jsonLine() + "\n"
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
        } catch {
            throw ResultsWriteError(description: "cannot write to \(url.path): \(error)")
        }
        if case .entry = line { entryCount += 1 }
    }
}

/// A results file as read back from disk.
public struct ResultsFileContents {
    public var lines: [ResultLine]
    /// The unparseable (typically half-written) last line that was dropped, if any.
    public var droppedLastLine: String?
    /// True when the file did not end with a newline (even if its last line parsed).
    public var missingFinalNewline: Bool

    public var header: ResultsHeader? {
        if case let .header(h)? = lines.first { return h }
        return nil
    }

    public var entries: [EntryResult] {
        lines.compactMap { if case let .entry(e) = $0 { return e } else { return nil } }
    }

    public var overheads: [OverheadResult] {
        lines.compactMap { if case let .overhead(o) = $0 { return o } else { return nil } }
    }

    public var footer: ResultsFooter? {
        if case let .footer(f)? = lines.last { return f }
        return nil
    }
}

public enum ResultsFile {
    /// Reads a JSON Lines results file. An unparseable *last* line is dropped and reported (a crash
    /// mid-write); an unparseable line anywhere else is an error. Blank lines are ignored.
    public static func read(_ url: URL) throws -> ResultsFileContents {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ProfilerError.io("cannot read \(url.path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), name: url.lastPathComponent)
    }

    public static func parse(_ text: String, name: String = "results") throws -> ResultsFileContents {
        var parts = text.components(separatedBy: "\n")
        let missingNewline = !(parts.last ?? "").isEmpty
        if !missingNewline { parts.removeLast() }
        // Index of the last non-blank line.
        let lastIndex = parts.lastIndex { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        var lines: [ResultLine] = []
        var dropped: String?
        for (i, raw) in parts.enumerated() {
            if raw.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            do {
                lines.append(try ResultLine.decode(line: raw))
            } catch let e as ProfilerError {
                if case .unsupportedSchema = e { throw e }
                if i == lastIndex {
                    dropped = raw
                } else {
                    throw ProfilerError.invalid("\(name): line \(i + 1) is corrupt: \(e)")
                }
            }
        }
        return ResultsFileContents(lines: lines, droppedLastLine: dropped, missingFinalNewline: missingNewline)
    }

    /// Atomically replaces `url` with `lines`: writes a temporary file in the same folder,
    /// fsyncs it, then rename(2)s it over the original.
    public static func rewriteAtomically(_ url: URL, lines: [ResultLine]) throws {
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        var text = ""
        for l in lines { text += try l.jsonLine() + "\n" }
        guard FileManager.default.createFile(atPath: tmp.path, contents: Data(text.utf8)) else {
            throw ResultsWriteError(description: "cannot write \(tmp.path)")
        }
        if let h = try? FileHandle(forWritingTo: tmp) {
            try? h.synchronize()
            try? h.close()
        }
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw ResultsWriteError(description: "cannot rename \(tmp.path) to \(url.path) (errno \(errno))")
        }
    }
}

/// Starting or resuming a results file for one session.
public enum ResultsSession {
    public struct Opened {
        public var writer: ResultsWriter
        /// Keys of entries already in the file (skipped by the session).
        public var measured: Set<String>
        /// What was repaired on resume, for the log ("dropped truncated last line", ...).
        public var repairs: [String]
    }

    /// Fresh start: refuses to overwrite an existing non-empty file unless `resume` is set.
    /// Resume: reads the file, drops a truncated/unparseable last line and a trailing footer
    /// (rewriting the file atomically without them), checks that its header has the same
    /// bundle_id, device.hardware_id and unit as `header` (otherwise refuses, naming the field),
    /// and reports the entries already measured.
    public static func open(_ url: URL, header: ResultsHeader, resume: Bool) throws -> Opened {
        let exists = FileManager.default.fileExists(atPath: url.path)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        if !exists || size == 0 {
            let w = try ResultsWriter(url: url)
            try w.append(.header(header))
            return Opened(writer: w, measured: [], repairs: [])
        }
        guard resume else {
            throw ProfilerError.invalid("\(url.path) already exists; pass --resume to continue it or remove it")
        }
        let contents = try ResultsFile.read(url)
        var repairs: [String] = []
        guard let old = contents.header else {
            if contents.lines.isEmpty, contents.droppedLastLine != nil {
                // Only a half-written header: start over.
                try ResultsFile.rewriteAtomically(url, lines: [.header(header)])
                return Opened(writer: try ResultsWriter(url: url), measured: [], repairs: ["dropped a truncated header"])
            }
            throw ProfilerError.invalid("\(url.path): first line is not a header")
        }
        try checkCompatible(old, with: header)
        var keep = contents.lines
        if contents.droppedLastLine != nil { repairs.append("dropped a truncated/unparseable last line") }
        if contents.footer != nil {
            keep.removeLast()
            repairs.append("removed the footer of the previous session")
        }
        if !repairs.isEmpty || contents.missingFinalNewline {
            try ResultsFile.rewriteAtomically(url, lines: keep)
        }
        let measured = Set(contents.entries.map(\.key))
        return Opened(writer: try ResultsWriter(url: url, existingEntries: contents.entries.count),
                      measured: measured, repairs: repairs)
    }

    /// Same bundle, same device (hardware id) and same unit, or a mismatch error naming the field.
    public static func checkCompatible(_ existing: ResultsHeader, with new: ResultsHeader) throws {
        if existing.bundleId != new.bundleId {
            throw ProfilerError.mismatch(field: "bundle_id", expected: new.bundleId, found: existing.bundleId)
        }
        if existing.device.hardwareId != new.device.hardwareId {
            throw ProfilerError.mismatch(field: "device.hardware_id", expected: new.device.hardwareId,
                                         found: existing.device.hardwareId)
        }
        if existing.unit != new.unit {
            throw ProfilerError.mismatch(field: "unit", expected: new.unit.rawValue, found: existing.unit.rawValue)
        }
    }
}
