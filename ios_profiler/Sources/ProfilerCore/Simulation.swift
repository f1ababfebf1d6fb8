import Foundation
#if canImport(Darwin)
import Darwin
#endif

/// A fake runner for tests and for the Python integration test. It never opens the model file
/// (only checks that it exists) and advances a `FakeClock` instead of doing work.
///
/// Fake latency of one prediction, in ms, for a model with E = total input + output elements:
///   entry:    base = 0.05 + E * 1e-6
///   overhead: base = 0.02 + E * 1e-7           (a near-empty model that only moves the tensors)
///   sample   = base * (1 + 0.02 * u),  u ~ U[0, 1) from SplitMix64(fnv1a64(id) ^ seed), one draw per call
/// So an entry's latency after overhead subtraction is about 0.03 + E * 9e-7 ms.
/// Fake compile_ms = 5 + E * 1e-5, load_ms = 1 + E * 1e-6. planned_device = unknown, planned_cost = null.
public final class SimulatedRunner: Runner {
    public final class Handle {
        let spec: ModelSpec
        var rng: SplitMix64
        let base: Double
        init(spec: ModelSpec, seed: UInt64) {
            self.spec = spec
            rng = SplitMix64(seed: fnv1a64(spec.id) ^ seed)
            base = SimulatedRunner.baseLatencyMs(spec)
        }
    }

    public let clock: FakeClock
    public let seed: UInt64
    /// Called before every prediction (tests use it to inject failures).
    public var beforePredict: ((ModelSpec) throws -> Void)?

    public init(clock: FakeClock, seed: UInt64 = 0) {
        self.clock = clock
        self.seed = seed
    }

    public static func baseLatencyMs(_ spec: ModelSpec) -> Double {
        let e = Double(spec.elementCount)
        switch spec.role {
        case .entry: return 0.05 + e * 1e-6
        case .overhead: return 0.02 + e * 1e-7
        }
    }

    public func load(_ spec: ModelSpec, url: URL) throws -> LoadedModel<Handle> {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ProfilerError.io("model file not found: \(url.path)")
        }
        let e = Double(spec.elementCount)
        return LoadedModel(handle: Handle(spec: spec, seed: seed), loadMs: 1 + e * 1e-6, compileMs: 5 + e * 1e-5)
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
