import Foundation
#if canImport(Darwin)
import Darwin
#endif

/// Monotonic time source; injectable so the protocol logic can be tested with a fake clock.
public protocol Clock: AnyObject {
    /// Seconds from an arbitrary fixed origin, monotonic.
    func now() -> Double
    func sleep(seconds: Double)
}

public final class SystemClock: Clock {
    public init() {}
    public func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    public func sleep(seconds: Double) { if seconds > 0 { Thread.sleep(forTimeInterval: seconds) } }
}

/// A clock that only moves when told to (by `advance`, `sleep`, or a simulated runner).
public final class FakeClock: Clock {
    public private(set) var time: Double
    public private(set) var slept: [Double] = []
    public init(start: Double = 1000) { time = start }
    public func now() -> Double { time }
    public func sleep(seconds: Double) { slept.append(seconds); time += max(0, seconds) }
    public func advance(seconds: Double) { time += seconds }
}

/// What the runner needs to know about one model file.
public struct ModelSpec: Equatable, Sendable {
    public enum Role: String, Sendable { case entry, overhead }
    public var id: String
    public var file: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    public var role: Role
    /// Set when the entry is a whole network (its layers' keys, in order).
    public var network: NetworkSpec?

    public init(id: String, file: String, inputs: [TensorSpec], outputs: [TensorSpec], role: Role,
                network: NetworkSpec? = nil) {
        self.id = id
        self.file = file
        self.inputs = inputs
        self.outputs = outputs
        self.role = role
        self.network = network
    }

    public init(entry e: EntrySpec) {
        self.init(id: e.key, file: e.file, inputs: e.inputs, outputs: e.outputs, role: .entry, network: e.network)
    }
    public init(overhead o: OverheadSpec) { self.init(id: o.id, file: o.file, inputs: o.inputs, outputs: o.outputs, role: .overhead) }

    public var elementCount: Int { (inputs + outputs).reduce(0) { $0 + $1.elementCount } }
}

public struct LoadedModel<Handle> {
    public var handle: Handle
    public var loadMs: Double
    public var compileMs: Double
    public var plannedDevice: PlannedDevice
    public var plannedCost: PlannedCost?

    public init(handle: Handle, loadMs: Double, compileMs: Double, plannedDevice: PlannedDevice = .unknown,
                plannedCost: PlannedCost? = nil) {
        self.handle = handle
        self.loadMs = loadMs
        self.compileMs = compileMs
        self.plannedDevice = plannedDevice
        self.plannedCost = plannedCost
    }
}

/// Loads (compiles) a model for one compute unit and runs predictions on fixed inputs.
public protocol Runner {
    associatedtype Handle
    /// Compile + load `url` (a .mlpackage). Returns the loaded model and its load/compile times.
    func load(_ spec: ModelSpec, url: URL) throws -> LoadedModel<Handle>
    /// One synchronous prediction on the model's fixed inputs.
    func predict(_ handle: Handle) throws
    /// Release any per-model resources (compiled files, etc.).
    func unload(_ handle: Handle)
}

public extension Runner {
    func unload(_ handle: Handle) {}
}

/// Device conditions recorded with every entry.
public protocol DeviceConditions {
    var thermalState: ThermalStateName { get }
    var lowPowerMode: Bool { get }
}

/// Real values on Apple platforms; "unknown" / false elsewhere.
public struct SystemConditions: DeviceConditions {
    public init() {}
    public var thermalState: ThermalStateName {
        #if canImport(Darwin)
        switch ProcessInfo.processInfo.thermalState {
        case .nominal: return .nominal
        case .fair: return .fair
        case .serious: return .serious
        case .critical: return .critical
        @unknown default: return .unknown
        }
        #else
        return .unknown
        #endif
    }

    public var lowPowerMode: Bool {
        #if os(iOS) || os(macOS)
        return ProcessInfo.processInfo.isLowPowerModeEnabled
        #else
        return false
        #endif
    }
}

public struct FixedConditions: DeviceConditions {
    public var thermalState: ThermalStateName
    public var lowPowerMode: Bool
    public init(thermalState: ThermalStateName = .unknown, lowPowerMode: Bool = false) {
        self.thermalState = thermalState
        self.lowPowerMode = lowPowerMode
    }
}

/// The timing loop: `warmup_runs` untimed predictions, then timed predictions until both
/// `min_runs` and `min_time_s` are reached, never more than `max_runs` (max_runs wins over
/// min_runs). Elapsed time is measured from the start of the first timed run.
public struct TimingLoop {
    public var measurement: MeasurementProtocol
    public var clock: Clock

    public init(measurement: MeasurementProtocol, clock: Clock) {
        self.measurement = measurement
        self.clock = clock
    }

    public func run(_ predict: () throws -> Void) throws -> Stats {
        for _ in 0..<max(0, measurement.warmupRuns) { try predict() }
        var samples: [Double] = []
        let cap = max(1, measurement.maxRuns)
        let start = clock.now()
        while true {
            let t0 = clock.now()
            try predict()
            let t1 = clock.now()
            samples.append((t1 - t0) * 1000)
            if samples.count >= cap { break }
            if samples.count >= measurement.minRuns && t1 - start >= measurement.minTimeS { break }
        }
        let total = clock.now() - start
        return Statistics.summarize(samples, outlierMadK: measurement.outlierMadK, totalTimeS: total)
    }
}

/// latency = max(0, entry median - overhead median).
public func subtractOverhead(entryMedianMs: Double, overheadMs: Double) -> Double {
    max(0, entryMedianMs - overheadMs)
}

public protocol ProgressSink {
    func progress(_ line: String)
}

public struct StderrProgress: ProgressSink {
    public init() {}
    public func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

public struct SilentProgress: ProgressSink {
    public init() {}
    public func progress(_ line: String) {}
}

/// Runs one profiling session over a bundle for one unit, appending to a results file.
public final class ProfileSession<R: Runner> {
    public let manifest: Manifest
    public let bundleDir: URL
    public let runner: R
    public let clock: Clock
    public let conditions: DeviceConditions
    public let progress: ProgressSink

    public init(manifest: Manifest, bundleDir: URL, runner: R, clock: Clock,
                conditions: DeviceConditions = SystemConditions(), progress: ProgressSink = StderrProgress()) {
        self.manifest = manifest
        self.bundleDir = bundleDir
        self.runner = runner
        self.clock = clock
        self.conditions = conditions
        self.progress = progress
    }

    public struct Summary: Equatable {
        public var measured: [String]
        public var skipped: [String]
        public var failed: [String: String]
    }

    /// Measures every entry not yet in `writer`'s file. Overheads used by the pending entries are
    /// calibrated once at the start of this session (and written as overhead lines); each entry's
    /// median minus its overhead median (floored at 0) is its latency. A cooldown sleep follows
    /// every model. Writes a footer when nothing is left.
    @discardableResult
    public func run(writer: ResultsWriter, alreadyMeasured: Set<String>) throws -> Summary {
        let p = manifest.measurement
        let loop = TimingLoop(measurement: p, clock: clock)
        let ordered = Ordering.order(manifest.entries, protocol: p)
        let pending = ordered.filter { !alreadyMeasured.contains($0.key) }
        var summary = Summary(measured: [], skipped: ordered.map(\.key).filter { alreadyMeasured.contains($0) }, failed: [:])

        // Per-session overhead calibration (manifest order, only those needed).
        let neededIds = Set(pending.compactMap(\.overhead))
        var overheadMs: [String: Double] = [:]
        for o in manifest.overheads where neededIds.contains(o.id) {
            do {
                let stats = try measure(ModelSpec(overhead: o), loop: loop).1
                overheadMs[o.id] = stats.medianMs
                try writer.append(.overhead(OverheadResult(id: o.id, stats: stats)))
                progress.progress(String(format: "[overhead] %@ %.3f ms", o.id, stats.medianMs))
            } catch let e as ResultsWriteError {
                throw e
            } catch {
                progress.progress("[overhead] \(o.id) FAILED: \(error)")
            }
            clock.sleep(seconds: p.cooldownS)
        }
        for missing in neededIds.subtracting(manifest.overheads.map(\.id)).sorted() {
            throw ProfilerError.invalid("manifest: entry overhead '\(missing)' is not among overheads")
        }

        let total = manifest.entries.count
        var index = alreadyMeasured.intersection(manifest.entries.map(\.key)).count
        for e in pending {
            index += 1
            if let oid = e.overhead, overheadMs[oid] == nil {
                summary.failed[e.key] = "overhead '\(oid)' could not be measured"
                progress.progress("[\(index)/\(total)] \(e.key) SKIPPED: overhead \(oid) failed")
                continue
            }
            do {
                let (loaded, stats) = try measure(ModelSpec(entry: e), loop: loop)
                let oh = e.overhead.flatMap { overheadMs[$0] } ?? 0
                let result = EntryResult(
                    key: e.key, loadMs: loaded.loadMs, compileMs: loaded.compileMs, stats: stats,
                    overheadMs: oh, latencyMs: subtractOverhead(entryMedianMs: stats.medianMs, overheadMs: oh),
                    thermalState: conditions.thermalState, lowPowerMode: conditions.lowPowerMode,
                    plannedDevice: loaded.plannedDevice, plannedCost: loaded.plannedCost)
                try writer.append(.entry(result))
                summary.measured.append(e.key)
                progress.progress(String(format: "[%d/%d] %@ … %.3f ms", index, total, e.key, result.latencyMs))
            } catch let err as ResultsWriteError {
                throw err
            } catch {
                summary.failed[e.key] = "\(error)"
                progress.progress("[\(index)/\(total)] \(e.key) FAILED: \(error)")
            }
            clock.sleep(seconds: p.cooldownS)
        }
        if summary.failed.isEmpty {
            try writer.append(.footer(ResultsFooter(finished: ISO8601.string(), entries: writer.entryCount)))
        }
        return summary
    }

    func measure(_ spec: ModelSpec, loop: TimingLoop) throws -> (LoadedModel<R.Handle>, Stats) {
        let url = bundleDir.appendingPathComponent(spec.file)
        let loaded = try runner.load(spec, url: url)
        defer { runner.unload(loaded.handle) }
        let stats = try loop.run { try runner.predict(loaded.handle) }
        return (loaded, stats)
    }
}

/// Everything a front end (CLI, iOS app, XCTest) does to profile a bundle for one unit.
public enum ProfileJob {
    public struct Options {
        public var unit: ComputeUnit
        public var resume: Bool
        public var allowOtherDevice: Bool
        public init(unit: ComputeUnit, resume: Bool = false, allowOtherDevice: Bool = false) {
            self.unit = unit
            self.resume = resume
            self.allowOtherDevice = allowOtherDevice
        }
    }

    /// Loads and checks the manifest, opens (or resumes) `out`, and measures what is left.
    @discardableResult
    public static func run<R: Runner>(bundleDir: URL, out: URL, options: Options, device: DeviceInfo, runner: R,
                                      clock: Clock, conditions: DeviceConditions = SystemConditions(),
                                      progress: ProgressSink = StderrProgress()) throws -> ProfileSession<R>.Summary {
        let manifest = try Manifest.load(bundleDir.appendingPathComponent("manifest.json"))
        let problems = BundleValidator.semanticErrors(manifest)
        if !problems.isEmpty { throw ProfilerError.invalid("manifest: " + problems.joined(separator: "; ")) }
        guard manifest.units.contains(options.unit) else {
            throw ProfilerError.mismatch(field: "unit", expected: "one of \(manifest.units.map(\.rawValue))",
                                         found: options.unit.rawValue)
        }
        if !manifest.accepts(hardwareId: device.hardwareId) && !options.allowOtherDevice {
            throw ProfilerError.mismatch(field: "device.hardware_id",
                                         expected: "one of \(manifest.hardwareIds) (device '\(manifest.device)')",
                                         found: device.hardwareId + " (pass --allow-other-device to measure anyway)")
        }
        let header = ResultsHeader(bundleId: manifest.bundleId, device: device, unit: options.unit,
                                   measurement: manifest.measurement, started: ISO8601.string(),
                                   weights: manifest.weights)
        let opened = try ResultsSession.open(out, header: header, resume: options.resume)
        for r in opened.repairs { progress.progress("[resume] \(r)") }
        if !opened.measured.isEmpty { progress.progress("[resume] \(opened.measured.count) entries already measured") }
        let session = ProfileSession(manifest: manifest, bundleDir: bundleDir, runner: runner, clock: clock,
                                     conditions: conditions, progress: progress)
        return try session.run(writer: opened.writer, alreadyMeasured: opened.measured)
    }
}
