import Foundation
import XCTest
@testable import ProfilerCore

/// ios_profiler/ located from this file's path (no Bundle.module resources, to keep Linux simple).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let schemaDir = packageRoot.appendingPathComponent("schema")
let examplesDir = schemaDir.appendingPathComponent("examples")

func readText(_ url: URL) -> String {
    String(decoding: FileManager.default.contents(atPath: url.path) ?? Data(), as: UTF8.self)
}

func manifestValidator() throws -> SchemaValidator {
    try SchemaValidator(schemaURL: schemaDir.appendingPathComponent("manifest.schema.json"))
}

func resultsValidator() throws -> SchemaValidator {
    try SchemaValidator(schemaURL: schemaDir.appendingPathComponent("results.schema.json"))
}

func exampleManifest() throws -> Manifest {
    try Manifest.load(examplesDir.appendingPathComponent("manifest.json"))
}

func makeTempDir() throws -> URL {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("nasprof-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A bundle folder with `manifest` and an empty directory for every referenced .mlpackage.
func makeBundle(_ manifest: Manifest) throws -> URL {
    let dir = try makeTempDir()
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try enc.encode(manifest).write(to: dir.appendingPathComponent("manifest.json"))
    for f in manifest.entries.map(\.file) + manifest.overheads.map(\.file) {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(f), withIntermediateDirectories: true)
    }
    return dir
}

/// A small manifest: n entries sharing one overhead, fast protocol.
func smallManifest(entries n: Int = 5, shuffle: Bool = false, seed: UInt64 = 0) -> Manifest {
    let x = TensorSpec(name: "x", shape: [1, 8, 16, 16], dtype: .float16)
    let y = TensorSpec(name: "y", shape: [1, 8, 16, 16], dtype: .float16)
    return Manifest(
        bundleId: String(repeating: "ab", count: 32), created: "2026-11-28T12:00:00Z", generator: "test",
        device: "iphone11", hardwareIds: ["iPhone12,1"], units: [.ane, .cpu],
        precision: "fp16",
        measurement: MeasurementProtocol(warmupRuns: 2, minRuns: 5, minTimeS: 0.001, maxRuns: 50, cooldownS: 0.2,
                                         shuffle: shuffle, seed: seed, outlierMadK: 5),
        overheads: [OverheadSpec(id: "io", file: "overheads/io.mlpackage", inputs: [x], outputs: [y])],
        entries: (0..<n).map { i in
            EntrySpec(key: "op\(i)@8x16x16", file: String(format: "ops/%04d.mlpackage", i), inputs: [x], outputs: [y],
                      overhead: "io")
        })
}

let simDevice = DeviceInfo(name: "iphone11", hardwareId: "iPhone12,1", os: "simulated", runtime: "simulated",
                           runtimeVersion: "test")

/// Runs a simulated session into `out`.
@discardableResult
func simulate(bundle: URL, out: URL, unit: ComputeUnit = .ane, resume: Bool = false, device: DeviceInfo = simDevice,
              clock: FakeClock = FakeClock(), configure: (SimulatedRunner) -> Void = { _ in })
    throws -> ProfileSession<SimulatedRunner>.Summary {
    let runner = SimulatedRunner(clock: clock)
    configure(runner)
    return try ProfileJob.run(bundleDir: bundle, out: out, options: .init(unit: unit, resume: resume), device: device,
                              runner: runner, clock: clock, conditions: FixedConditions(), progress: SilentProgress())
}
