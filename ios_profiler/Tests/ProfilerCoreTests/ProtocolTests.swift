import Foundation
import XCTest
@testable import ProfilerCore

final class ProtocolTests: XCTestCase {
    /// A prediction that takes `ms` on the fake clock.
    func loop(_ p: MeasurementProtocol, ms: Double) throws -> (Stats, calls: Int) {
        let clock = FakeClock()
        var calls = 0
        let stats = try TimingLoop(measurement: p, clock: clock).run {
            calls += 1
            clock.advance(seconds: ms / 1000)
        }
        return (stats, calls)
    }

    func testMinTimeGovernsFastOps() throws {
        let p = MeasurementProtocol(warmupRuns: 10, minRuns: 50, minTimeS: 1.0, maxRuns: 5000)
        // 1/1024 s per prediction (exact in binary floating point): 1024 runs reach 1 s.
        let (s, calls) = try loop(p, ms: 1000.0 / 1024)
        XCTAssertEqual(s.n, 1024)
        XCTAssertEqual(calls, 1034)          // + warm-up, which is not timed
        XCTAssertEqual(s.totalTimeS, 1.0, accuracy: 1e-9)
        XCTAssertEqual(s.medianMs, 1000.0 / 1024, accuracy: 1e-9)
    }

    func testMinRunsGovernsSlowOps() throws {
        let p = MeasurementProtocol(warmupRuns: 1, minRuns: 5, minTimeS: 0.1, maxRuns: 100)
        let (s, calls) = try loop(p, ms: 100)
        XCTAssertEqual(s.n, 5)               // 0.1 s passed after one run, but min_runs is 5
        XCTAssertEqual(calls, 6)
        XCTAssertEqual(s.totalTimeS, 0.5, accuracy: 1e-9)
    }

    func testMaxRunsCaps() throws {
        let p = MeasurementProtocol(warmupRuns: 0, minRuns: 50, minTimeS: 1.0, maxRuns: 2000)
        XCTAssertEqual(try loop(p, ms: 0.01).0.n, 2000)   // 2000 x 0.01 ms = 0.02 s < 1 s
        let q = MeasurementProtocol(warmupRuns: 0, minRuns: 50, minTimeS: 0, maxRuns: 20)
        XCTAssertEqual(try loop(q, ms: 1).0.n, 20)         // max_runs wins over min_runs
    }

    func testOverheadCalibrationAndSubtraction() throws {
        let m = smallManifest(entries: 3)
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("results.jsonl")
        let clock = FakeClock()
        try simulate(bundle: bundle, out: out, clock: clock)
        let c = try ResultsFile.read(out)
        XCTAssertEqual(c.lines.map(\.kind), ["header", "overhead", "entry", "entry", "entry", "footer"])
        let oh = c.overheads[0]
        XCTAssertEqual(oh.id, "io")
        let elements = 2.0 * 8 * 16 * 16
        XCTAssertEqual(oh.stats.medianMs, (0.23 + elements * 1e-7) * 1.01, accuracy: 0.003)
        for e in c.entries {
            XCTAssertEqual(e.overheadMs, oh.stats.medianMs)
            XCTAssertEqual(e.latencyMs, e.stats.medianMs - oh.stats.medianMs, accuracy: 1e-12)
            XCTAssertEqual(e.stats.medianMs, (0.25 + elements * 2e-6) * 1.01, accuracy: 0.004)
        }
        // One cooldown after every model (1 overhead + 3 entries).
        XCTAssertEqual(clock.slept, [0.2, 0.2, 0.2, 0.2])
        XCTAssertEqual(c.footer?.entries, 3)
        XCTAssertEqual(ResultsChecker(manifest: m).check(c).errors, [])
    }

    func testLatencyIsFlooredAtZero() throws {
        XCTAssertEqual(subtractOverhead(entryMedianMs: 0.1, overheadMs: 0.3), 0)
        XCTAssertEqual(subtractOverhead(entryMedianMs: 0.5, overheadMs: 0.2), 0.3, accuracy: 1e-12)
        // An overhead model slower than the op (tiny op, big tensors) gives latency 0.
        var m = smallManifest(entries: 1)
        let big = TensorSpec(name: "x", shape: [1, 64, 256, 256], dtype: .float16)
        m.overheads[0].inputs = [big]
        m.overheads[0].outputs = [big]
        m.entries[0].inputs = [big]
        m.entries[0].outputs = [big]
        final class SlowOverhead: Runner {
            let clock: FakeClock
            init(clock: FakeClock) { self.clock = clock }
            func load(_ spec: ModelSpec, url: URL) throws -> LoadedModel<ModelSpec.Role> {
                LoadedModel(handle: spec.role, loadMs: 0, compileMs: 0)
            }
            func predict(_ role: ModelSpec.Role) throws {
                clock.advance(seconds: role == .overhead ? 0.002 : 0.001)
            }
        }
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("r.jsonl")
        let clock = FakeClock()
        try ProfileJob.run(bundleDir: bundle, out: out, options: .init(unit: .ane), device: simDevice,
                           runner: SlowOverhead(clock: clock), clock: clock, conditions: FixedConditions(),
                           progress: SilentProgress())
        let e = try ResultsFile.read(out).entries[0]
        XCTAssertEqual(e.overheadMs, 2, accuracy: 1e-6)
        XCTAssertEqual(e.latencyMs, 0)
        XCTAssertNoThrow(try resultsValidator().validateResultsLine(try JSONValue.parse(try ResultLine.entry(e).jsonLine())))
    }

    func testShuffledSessionOrder() throws {
        let m = smallManifest(entries: 8, shuffle: true, seed: 1234)
        let bundle = try makeBundle(m)
        let out1 = bundle.appendingPathComponent("a.jsonl")
        let out2 = bundle.appendingPathComponent("b.jsonl")
        try simulate(bundle: bundle, out: out1)
        try simulate(bundle: bundle, out: out2)
        let order1 = try ResultsFile.read(out1).entries.map(\.key)
        let order2 = try ResultsFile.read(out2).entries.map(\.key)
        XCTAssertEqual(order1, order2)
        XCTAssertEqual(order1, Ordering.shuffled(m.entries.map(\.key), seed: 1234))
        XCTAssertNotEqual(order1, m.entries.map(\.key))
        // Simulated latencies are deterministic too.
        XCTAssertEqual(try ResultsFile.read(out1).entries.map(\.latencyMs), try ResultsFile.read(out2).entries.map(\.latencyMs))
    }

    func testFailedEntryIsReportedAndNoFooter() throws {
        let m = smallManifest(entries: 3)
        let bundle = try makeBundle(m)
        let out = bundle.appendingPathComponent("r.jsonl")
        struct Boom: Error {}
        let summary = try simulate(bundle: bundle, out: out) { runner in
            runner.beforePredict = { spec in if spec.id == "op1@8x16x16" { throw Boom() } }
        }
        XCTAssertEqual(summary.measured, ["op0@8x16x16", "op2@8x16x16"])
        XCTAssertEqual(Array(summary.failed.keys), ["op1@8x16x16"])
        let c = try ResultsFile.read(out)
        XCTAssertNil(c.footer)
        XCTAssertEqual(ResultsChecker(manifest: m).check(c).missing, ["op1@8x16x16"])
        // A resumed session measures only the failed entry, then writes the footer.
        let again = try simulate(bundle: bundle, out: out, resume: true)
        XCTAssertEqual(again.measured, ["op1@8x16x16"])
        XCTAssertEqual(try ResultsFile.read(out).footer?.entries, 3)
    }
}

/// The simulator's whole networks are not the sum of their ops (hand-computed from the documented model).
final class SimulatedNetworkTests: XCTestCase {
    func testNetworkTimeIsFusedWithASwitchPenalty() throws {
        var m = smallManifest(entries: 2)
        m.entries[1].key = "ir_k3_s1_e1_c8_g2@8x16x16"   // grouped: falls back to the CPU
        let x = TensorSpec(name: "x", shape: [1, 8, 16, 16], dtype: .float16)
        let y = TensorSpec(name: "y", shape: [1, 10], dtype: .float16)
        let layers = ["op0@8x16x16", "ir_k3_s1_e1_c8_g2@8x16x16", "op0@8x16x16"]
        m.entries.append(EntrySpec(key: "__net__/calibration/s/0", file: "nets/n0.mlpackage", inputs: [x], outputs: [y],
                                   overhead: nil, network: NetworkSpec(role: "calibration", space: "s", seed: 1,
                                                                       index: 0, arch: "a", layers: layers)))
        XCTAssertEqual(BundleValidator.semanticErrors(m), [])
        let runner = SimulatedRunner(clock: FakeClock(), unit: .ane, manifest: m)
        let e = 2.0 * 8 * 16 * 16  // every layer: 2048 in + 2048 out
        let layer = 0.7 * e * 2e-6
        // op0 (ane), then the grouped op (cpu: a switch), then op0 again (ane: a switch back)
        let expected = 0.23 + (8.0 * 16 * 16 + 10) * 1e-7 + layer + 2 * (1.5 * layer + 0.05)
        let spec = ModelSpec(entry: m.entries[2])
        XCTAssertEqual(try runner.baseLatencyMs(spec), expected, accuracy: 1e-12)
        XCTAssertEqual(runner.device(ofKey: layers[1]), .cpu)
        XCTAssertEqual(try runner.load(spec, url: URL(fileURLWithPath: "/")).plannedDevice, .mixed)
        m.entries[2].network?.layers.append("nope@1x1x1")
        XCTAssertEqual(BundleValidator.semanticErrors(m).count, 1)
    }
}
