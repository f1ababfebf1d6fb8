import Foundation
import XCTest
@testable import ProfilerCore

/// Runs the built `nas-profiler` executable (next to the test bundle in the build folder).
final class CLITests: XCTestCase {
    var binary: URL {
        var dir = Bundle(for: CLITests.self).bundleURL
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("nas-profiler")
    }

    func run(_ args: [String]) throws -> (status: Int32, stderr: String) {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("nas-profiler not built at \(binary.path)")
        }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testSimulateValidateAndMismatch() throws {
        let m = smallManifest(entries: 3)
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("r.jsonl").path
        XCTAssertEqual(try run(["validate-bundle", bundle.path]).status, 0)
        let prof = try run(["profile", bundle.path, "--unit", "ane", "--out", out, "--simulate", "--device-name", "myphone"])
        XCTAssertEqual(prof.status, 0, prof.stderr)
        XCTAssertTrue(prof.stderr.contains("[3/3] op2@8x16x16 … "), prof.stderr)
        let header = try ResultsFile.read(URL(fileURLWithPath: out)).header
        XCTAssertEqual(header?.device, DeviceInfo(name: "myphone", hardwareId: "iPhone12,1", os: "simulated",
                                                  runtime: "simulated", runtimeVersion: harnessName))
        let manifestPath = bundle.appendingPathComponent("manifest.json").path
        XCTAssertEqual(try run(["validate-results", out, "--manifest", manifestPath]).status, 0)
        // Same file against a manifest for another unit: refused, naming the field, unless overridden.
        var m2 = m
        m2.units = [.gpu]
        let other = try makeBundle(m2)
        let refused = try run(["validate-results", out, "--manifest", other.appendingPathComponent("manifest.json").path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("unit:"), refused.stderr)
        XCTAssertEqual(try run(["validate-results", out, "--manifest", other.appendingPathComponent("manifest.json").path,
                                "--allow-other-unit"]).status, 0)
        // Existing output without --resume is refused; with --resume nothing is left to do.
        XCTAssertEqual(try run(["profile", bundle.path, "--unit", "ane", "--out", out, "--simulate"]).status, 1)
        XCTAssertEqual(try run(["profile", bundle.path, "--unit", "ane", "--out", out, "--simulate", "--resume"]).status, 0)
        XCTAssertEqual(try run(["profile", bundle.path, "--unit", "npu", "--out", out, "--simulate"]).status, 2)
        #if !canImport(CoreML)
        let noCoreML = try run(["profile", bundle.path, "--unit", "ane", "--out", out + ".2"])
        XCTAssertEqual(noCoreML.status, 2)
        XCTAssertTrue(noCoreML.stderr.contains("--simulate"), noCoreML.stderr)
        #endif
    }
}
