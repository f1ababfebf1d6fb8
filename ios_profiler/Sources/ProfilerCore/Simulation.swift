import Foundation
#if canImport(Darwin)
import Darwin
#endif

/// A fake runner for tests and for the Python integration test. It never opens the model file
/// (only checks that it exists) and advances a `FakeClock` instead of doing work.
///
/// It is deliberately NOT additive, so that the Python side's in-network correction and validation
/// figures have something to find (issue 17). For a model with E = total input + output elements
/// (times in ms):
///   every prediction pays the dispatch floor F = 0.23 (the ~0.23 ms per-dispatch floor reported for the
///     M1 Neural Engine);
///   overhead model:  F + E * 1e-7                        (only moves the tensors)
///   op entry:        F + 0.02 + E * 2e-6                 (its own dispatch, setup and compute)
///   network entry:   F + E_io * 1e-7 + sum over its layers of L_i, where
///                    L_i = 0.7 * E_i * 2e-6              (fused inside one program: no per-op setup,
///                                                         activations stay on chip)
///                    and the first layer after a unit switch costs 1.5 * L_i + 0.05.
///   A layer (or op entry) whose block has a group token (`_g`, e.g. `ir_k3_s1_e1_c184_g2`) runs on the
///   CPU ("falls back"); every other runs on the session's unit (cpu, gpu, or ane for ane/all).
///   sample = base * (1 + 0.02 * u), u ~ U[0, 1) from SplitMix64(fnv1a64(id) ^ seed), one draw per call.
/// So an op's latency after overhead subtraction is about 0.02 + E * 1.9e-6, and isolated sums
/// overestimate a network by roughly 30-50 %. Entries report planned_device = the unit they run on
/// (a network: `mixed` when any layer falls back), planned_cost = null.
/// Fake compile_ms = 5 + E * 1e-5, load_ms = 1 + E * 1e-6.
public final class SimulatedRunner: Runner {
    public static let floorMs = 0.23
    public static let fusedFactor = 0.7
    public static let switchFactor = 1.5
    public static let switchMs = 0.05

    public final class Handle {
        let spec: ModelSpec
        var rng: SplitMix64
        let base: Double
        init(spec: ModelSpec, seed: UInt64, base: Double) {
            self.spec = spec
            rng = SplitMix64(seed: fnv1a64(spec.id) ^ seed)
            self.base = base
        }
    }

    public let clock: FakeClock
    public let seed: UInt64
    public let unit: ComputeUnit
    /// Element counts (inputs + outputs) of the manifest's entries, by key: a network's layers.
    public let layerElements: [String: Int]
    /// Called before every prediction (tests use it to inject failures).
    public var beforePredict: ((ModelSpec) throws -> Void)?

    public init(clock: FakeClock, seed: UInt64 = 0, unit: ComputeUnit = .ane, manifest: Manifest? = nil) {
        self.clock = clock
        self.seed = seed
        self.unit = unit
        var elements: [String: Int] = [:]
        for e in manifest?.entries ?? [] where e.network == nil {
            elements[e.key] = (e.inputs + e.outputs).reduce(0) { $0 + $1.elementCount }
        }
        layerElements = elements
    }

    /// Where a layer or op runs in the simulation: grouped blocks fall back to the CPU.
    public func device(ofKey key: String) -> PlannedDevice {
        let block = key.split(separator: "@", maxSplits: 1).first.map(String.init) ?? key
        if block.contains("_g") { return .cpu }
        switch unit {
        case .cpu: return .cpu
        case .gpu: return .gpu
        case .ane, .all, .cpuAndANE: return .ane
        }
    }

    public func baseLatencyMs(_ spec: ModelSpec) throws -> Double {
        let e = Double(spec.elementCount)
        switch spec.role {
        case .overhead: return Self.floorMs + e * 1e-7
        case .entry:
            guard let net = spec.network else { return Self.floorMs + 0.02 + e * 2e-6 }
            var total = Self.floorMs + e * 1e-7
            var previous: PlannedDevice?
            for key in net.layers {
                guard let n = layerElements[key] else {
                    throw ProfilerError.invalid("network \(spec.id): layer '\(key)' is not an entry of the manifest")
                }
                var ms = Self.fusedFactor * Double(n) * 2e-6
                let d = device(ofKey: key)
                if let p = previous, p != d { ms = Self.switchFactor * ms + Self.switchMs }
                previous = d
                total += ms
            }
            return total
        }
    }

    public func load(_ spec: ModelSpec, url: URL) throws -> LoadedModel<Handle> {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ProfilerError.io("model file not found: \(url.path)")
        }
        let e = Double(spec.elementCount)
        var planned = PlannedDevice.unknown
        if spec.role == .entry {
            if let net = spec.network {
                let devices = Set(net.layers.map { device(ofKey: $0) })
                planned = devices.count == 1 ? devices.first! : .mixed
            } else {
                planned = device(ofKey: spec.id)
            }
        }
        return LoadedModel(handle: Handle(spec: spec, seed: seed, base: try baseLatencyMs(spec)),
                           loadMs: 1 + e * 1e-6, compileMs: 5 + e * 1e-5, plannedDevice: planned)
    }

    public func predict(_ handle: Handle) throws {
        try beforePredict?(handle.spec)
        let ms = handle.base * (1 + 0.02 * handle.rng.nextUnit())
        clock.advance(seconds: ms / 1000)
    }
}

/// The machine we run on.
public enum HostInfo {
    /// "iPhone12,1" on iOS (hw.machine), "Mac14,2" / "MacBookPro18,3" on macOS (hw.model); nil elsewhere.
    public static func hardwareId() -> String? {
        #if canImport(Darwin)
        #if os(macOS)
        let name = "hw.model"
        #else
        let name = "hw.machine"
        #endif
        var size = 0
        guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buf = [CChar](repeating: 0, count: size)
        guard sysctlbyname(name, &buf, &size, nil, 0) == 0 else { return nil }
        return String(cString: buf)
        #else
        return nil
        #endif
    }

    /// e.g. "iOS 17.5", "macOS 14.4.1", "Linux 6.1".
    public static func osString() -> String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        let ver = v.patchVersion > 0 ? "\(v.majorVersion).\(v.minorVersion).\(v.patchVersion)" : "\(v.majorVersion).\(v.minorVersion)"
        #if os(iOS)
        return "iOS \(ver)"
        #elseif os(macOS)
        return "macOS \(ver)"
        #elseif os(Linux)
        return "Linux \(ver)"
        #else
        return "unknown \(ver)"
        #endif
    }

    /// Header device for a simulated run: name = --device-name or the manifest's device,
    /// hardware_id = the manifest's first hardware id (a trailing "*" pattern becomes "<prefix>-simulated").
    public static func simulatedDevice(manifest: Manifest, name: String?) -> DeviceInfo {
        var hw = manifest.hardwareIds.first ?? "unknown"
        if hw.hasSuffix("*") { hw = String(hw.dropLast()) + "-simulated" }
        return DeviceInfo(name: name ?? manifest.device, hardwareId: hw, os: "simulated", runtime: "simulated",
                          runtimeVersion: harnessName)
    }
}
