import Foundation
import XCTest
@testable import ProfilerCore

final class ResumeAndCheckTests: XCTestCase {
    func testResumeAfterTruncationMidWrite() throws {
        let m = smallManifest(entries: 4)
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("results.jsonl")
        try simulate(bundle: bundle, out: out)
        let full = readText(out)
        var lines = full.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.removeLast(), "")      // file ends with a newline
        // lines: header, overhead, e0, e1, e2, e3, footer. Kill the app while it writes e2.
        let keptPrefix = lines[0...3].joined(separator: "\n") + "\n"
        let halfLine = String(lines[4].prefix(lines[4].count / 2))
        try Data((keptPrefix + halfLine).utf8).write(to: out)

        let parsed = try ResultsFile.read(out)
        XCTAssertEqual(parsed.droppedLastLine, halfLine)
        XCTAssertEqual(parsed.entries.map(\.key), ["op0@8x16x16", "op1@8x16x16"])
        // validate-results tolerates the truncated line (warns) and reports the missing entries.
        let report = ResultsChecker(manifest: m).check(parsed)
        XCTAssertTrue(report.ok)
        XCTAssertEqual(report.missing, ["op2@8x16x16", "op3@8x16x16"])
        XCTAssertFalse(report.warnings.isEmpty)

        let summary = try simulate(bundle: bundle, out: out, resume: true)
        XCTAssertEqual(summary.measured, ["op2@8x16x16", "op3@8x16x16"])   // the truncated one is re-measured
        XCTAssertEqual(summary.skipped, ["op0@8x16x16", "op1@8x16x16"])    // completed ones are not
        let after = readText(out)
        XCTAssertTrue(after.hasPrefix(keptPrefix), "completed lines are kept byte for byte")
        XCTAssertFalse(after.contains(halfLine + "\n") && !after.contains(lines[4]), "no half line left")
        let c = try ResultsFile.read(out)
        XCTAssertNil(c.droppedLastLine)
        XCTAssertEqual(c.entries.map(\.key), ["op0@8x16x16", "op1@8x16x16", "op2@8x16x16", "op3@8x16x16"])
        XCTAssertEqual(c.overheads.count, 2)     // recalibrated in the new session
        XCTAssertEqual(c.footer?.entries, 4)
        let final = ResultsChecker(manifest: m).check(c)
        XCTAssertEqual(final.errors, [])
        XCTAssertEqual(final.missing, [])
        let rv = try resultsValidator()
        for l in after.split(separator: "\n") { XCTAssertNoThrow(try rv.validateResultsLine(try JSONValue.parse(String(l)))) }
        // Resuming a complete file measures nothing and keeps exactly one footer.
        let none = try simulate(bundle: bundle, out: out, resume: true)
        XCTAssertEqual(none.measured, [])
        XCTAssertEqual(try ResultsFile.read(out).lines.filter { $0.kind == "footer" }.count, 1)
        XCTAssertNoThrow(try ResultsChecker(manifest: m).check(try ResultsFile.read(out)))
    }

    func testCorruptLineInTheMiddleIsAnError() throws {
        let text = readText(examplesDir.appendingPathComponent("results.jsonl"))
        var lines = text.split(separator: "\n").map(String.init)
        lines[2] = "{\"kind\": \"overhead\", \"id\""
        XCTAssertThrowsError(try ResultsFile.parse(lines.joined(separator: "\n") + "\n")) { error in
            XCTAssertTrue("\(error)".contains("line 3"), "\(error)")
        }
    }

    func testRefusesWithoutResumeFlag() throws {
        let m = smallManifest(entries: 1)
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("r.jsonl")
        try simulate(bundle: bundle, out: out)
        XCTAssertThrowsError(try simulate(bundle: bundle, out: out)) { error in
            XCTAssertTrue("\(error)".contains("--resume"), "\(error)")
        }
    }

    func testResumeRefusesOtherBundleDeviceOrUnit() throws {
        let m = smallManifest(entries: 2)
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("r.jsonl")
        try simulate(bundle: bundle, out: out)
        let before = readText(out)

        // Different unit (the manifest allows cpu too).
        XCTAssertThrowsError(try simulate(bundle: bundle, out: out, unit: .cpu, resume: true)) { error in
            XCTAssertEqual(error as? ProfilerError, .mismatch(field: "unit", expected: "cpu", found: "ane"))
        }
        // Different device.
        var other = simDevice
        other.hardwareId = "iPhone14,5"
        var m2 = m
        m2.hardwareIds = ["iPhone12,1", "iPhone14,5"]
        let bundle2 = try makeBundle(m2)
        try FileManager.default.copyItem(at: out, to: bundle2.appendingPathComponent("r.jsonl"))
        XCTAssertThrowsError(try simulate(bundle: bundle2, out: bundle2.appendingPathComponent("r.jsonl"),
                                          resume: true, device: other)) { error in
            XCTAssertTrue("\(error)".contains("device.hardware_id"), "\(error)")
        }
        // Different bundle.
        var m3 = m
        m3.bundleId = String(repeating: "cd", count: 32)
        let bundle3 = try makeBundle(m3)
        try FileManager.default.copyItem(at: out, to: bundle3.appendingPathComponent("r.jsonl"))
        XCTAssertThrowsError(try simulate(bundle: bundle3, out: bundle3.appendingPathComponent("r.jsonl"), resume: true)) { error in
            XCTAssertTrue("\(error)".contains("bundle_id"), "\(error)")
        }
        XCTAssertEqual(readText(out), before, "a refused resume leaves the file alone")
    }

    func testProfilingRefusesADeviceNotInTheManifest() throws {
        let m = smallManifest(entries: 1)
        let bundle = try makeBundle(m)
        var other = simDevice
        other.hardwareId = "iPhone15,4"
        XCTAssertThrowsError(try simulate(bundle: bundle, out: bundle.appendingPathComponent("r.jsonl"), device: other)) {
            XCTAssertTrue("\($0)".contains("device.hardware_id"), "\($0)")
        }
        XCTAssertThrowsError(try simulate(bundle: bundle, out: bundle.appendingPathComponent("r.jsonl"), unit: .gpu)) {
            XCTAssertTrue("\($0)".contains("'unit'"), "\($0)")
        }
    }

    func checkExample(_ edit: (inout ResultsHeader) -> Void, options: ResultsChecker.Options = .init()) throws
        -> ResultsChecker.Report {
        var c = try ResultsFile.read(examplesDir.appendingPathComponent("results.jsonl"))
        guard case var .header(h) = c.lines[0] else { throw ProfilerError.invalid("no header") }
        edit(&h)
        c.lines[0] = .header(h)
        return ResultsChecker(manifest: try exampleManifest(), options: options).check(c)
    }

    func testCheckerRefusesMismatchedBundleDeviceUnit() throws {
        XCTAssertTrue(try checkExample { _ in }.ok)

        let bundle = try checkExample { $0.bundleId = String(repeating: "0", count: 64) }
        XCTAssertFalse(bundle.ok)
        XCTAssertTrue(bundle.errors[0].hasPrefix("bundle_id"), bundle.errors[0])
        XCTAssertTrue(try checkExample({ $0.bundleId = String(repeating: "0", count: 64) },
                                       options: .init(allowOtherBundle: true)).ok)

        let device = try checkExample { $0.device.hardwareId = "iPhone14,5" }
        XCTAssertFalse(device.ok)
        XCTAssertTrue(device.errors[0].hasPrefix("device.hardware_id"), device.errors[0])
        let allowed = try checkExample({ $0.device.hardwareId = "iPhone14,5" }, options: .init(allowOtherDevice: true))
        XCTAssertTrue(allowed.ok)
        XCTAssertTrue(allowed.warnings.contains { $0.contains("--allow-other-device") })

        let unit = try checkExample { $0.unit = .gpu }
        XCTAssertFalse(unit.ok)
        XCTAssertTrue(unit.errors[0].hasPrefix("unit"), unit.errors[0])
        XCTAssertTrue(try checkExample({ $0.unit = .gpu }, options: .init(allowOtherUnit: true)).ok)
    }

    func testCompressedBundleIsMeasuredAndItsWeightFormatCheckedInTheHeader() throws {
        var m = smallManifest(entries: 2)
        m.weights = "lut4"
        let bundle = try makeBundle(m)
        XCTAssertNoThrow(try manifestValidator().validate(try JSONValue.parse(readText(bundle.appendingPathComponent("manifest.json")))))
        let out = bundle.appendingPathComponent("results.jsonl")
        try simulate(bundle: bundle, out: out)
        let header = readText(out).split(separator: "\n")[0]
        XCTAssertTrue(header.contains("\"weights\":\"lut4\""), String(header))  // copied from the manifest
        XCTAssertNoThrow(try resultsValidator().validateResultsLine(try JSONValue.parse(String(header))))
        var c = try ResultsFile.read(out)
        XCTAssertEqual(ResultsChecker(manifest: m).check(c).errors, [])
        guard case var .header(h) = c.lines[0] else { return XCTFail("no header") }
        h.weights = nil                                   // fp16 results against a lut4 manifest
        c.lines[0] = .header(h)
        let r = ResultsChecker(manifest: m).check(c)
        XCTAssertTrue(r.errors.contains { $0.hasPrefix("weights: results measure fp16 weights") }, "\(r.errors)")
        // An fp16 bundle writes no weights key at all (its results read as before).
        let plain = try makeBundle(smallManifest(entries: 1))
        try simulate(bundle: plain, out: plain.appendingPathComponent("r.jsonl"))
        XCTAssertFalse(readText(plain.appendingPathComponent("r.jsonl")).contains("weights"))
    }

    func testCheckerReportsMissingUnknownAndDuplicateEntries() throws {
        var c = try ResultsFile.read(examplesDir.appendingPathComponent("results.jsonl"))
        let m = try exampleManifest()
        c.lines.removeLast()                 // footer
        c.lines.remove(at: 4)                // second entry
        var r = ResultsChecker(manifest: m).check(c)
        XCTAssertTrue(r.ok)
        XCTAssertEqual(r.missing, ["ir_c24_k5_s1_e3@24x56x56"])
        XCTAssertEqual(r.measured, 2)
        if case var .entry(e) = c.lines[3] {
            c.lines.append(.entry(e))        // duplicate
            e.key = "nope"
            c.lines.append(.entry(e))        // unknown
        }
        r = ResultsChecker(manifest: m).check(c)
        XCTAssertTrue(r.errors.contains { $0.contains("appears twice") })
        XCTAssertTrue(r.errors.contains { $0.contains("'nope' is not in the manifest") })
    }

    func testBundleValidator() throws {
        let m = try exampleManifest()
        // The example folder has no model files.
        let missing = BundleValidator.validate(bundleDir: examplesDir, schema: try manifestValidator())
        XCTAssertEqual(missing.errors.count, 5)
        XCTAssertTrue(missing.errors.allSatisfy { $0.hasPrefix("file:") })
        let bundle = try makeBundle(m)
        let ok = BundleValidator.validate(bundleDir: bundle, schema: try manifestValidator())
        XCTAssertEqual(ok.errors, [])
        XCTAssertEqual(ok.warnings, [])
        var bad = m
        bad.entries[1].overhead = "io_16x112x112_24x56x56"   // shapes differ
        bad.entries[2].key = bad.entries[0].key
        let errors = BundleValidator.semanticErrors(bad)
        XCTAssertTrue(errors.contains { $0.contains("different input/output shapes") })
        XCTAssertTrue(errors.contains { $0.contains("duplicate key") })
    }
}
