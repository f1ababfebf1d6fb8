// On-device profiling as an XCTest (route 2 in README.md). Apple platforms only; compiles to
// nothing on Linux. NOT run here. Skipped unless NAS_PROFILER_BUNDLE is set; with xcodebuild, pass
// variables to the test process with the TEST_RUNNER_ prefix, e.g.
//   TEST_RUNNER_NAS_PROFILER_BUNDLE=bundle TEST_RUNNER_NAS_PROFILER_UNIT=ane xcodebuild test ...
// NAS_PROFILER_BUNDLE / NAS_PROFILER_OUT: absolute, or relative to the test process's Documents folder.
// NAS_PROFILER_UNIT: cpu | gpu | ane | all (default ane). NAS_PROFILER_DEVICE_NAME: optional.
#if canImport(CoreML)
import Foundation
import ProfilerCore
import ProfilerCoreML
import XCTest

final class DeviceProfileTests: XCTestCase {
    func testProfileBundle() throws {
        let env = ProcessInfo.processInfo.environment
        guard let bundlePath = env["NAS_PROFILER_BUNDLE"] else {
            throw XCTSkip("NAS_PROFILER_BUNDLE is not set")
        }
        let docs = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
        func resolve(_ p: String) -> URL { p.hasPrefix("/") ? URL(fileURLWithPath: p) : docs.appendingPathComponent(p) }
        let unitName = env["NAS_PROFILER_UNIT"] ?? "ane"
        let unit = try XCTUnwrap(ComputeUnit(rawValue: unitName), "unknown unit \(unitName)")
        let bundle = resolve(bundlePath)
        let out = resolve(env["NAS_PROFILER_OUT"] ?? "results-\(unitName).jsonl")
        let manifest = try Manifest.load(bundle.appendingPathComponent("manifest.json"))
        let device = DeviceInfo(name: env["NAS_PROFILER_DEVICE_NAME"] ?? manifest.device,
                                hardwareId: HostInfo.hardwareId() ?? "unknown", os: HostInfo.osString(),
                                runtime: "Core ML", runtimeVersion: CoreMLRunner.runtimeVersion)
        let summary = try ProfileJob.run(bundleDir: bundle, out: out, options: .init(unit: unit, resume: true),
                                         device: device, runner: CoreMLRunner(unit: unit, seed: manifest.measurement.seed),
                                         clock: SystemClock())
        print("results: \(out.path)")
        XCTAssertEqual(summary.failed, [:])
        let report = ResultsChecker(manifest: manifest).check(try ResultsFile.read(out))
        XCTAssertEqual(report.errors, [])
        XCTAssertEqual(report.missing, [])
    }
}
#endif
