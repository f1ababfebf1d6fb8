// Core ML runner. Apple platforms only; the whole file compiles to nothing elsewhere.
// NOT compiled or run on the Linux machine this was written on: check with `swift build`
// on macOS (the GitHub workflow does) before trusting it.
#if canImport(CoreML)
import CoreML
import Foundation
import ProfilerCore

extension ComputeUnit {
    /// cpu = .cpuOnly, gpu = .cpuAndGPU, ane (and its old name cpu_and_ane) = .cpuAndNeuralEngine,
    /// all = .all. `.cpuAndNeuralEngine` exists from iOS 16 / macOS 13, the package's minimum.
    public var mlComputeUnits: MLComputeUnits {
        switch self {
        case .cpu: return .cpuOnly
        case .gpu: return .cpuAndGPU
        case .ane, .cpuAndANE: return .cpuAndNeuralEngine
        case .all: return .all
        }
    }
}

public final class CoreMLRunner: Runner {
    public final class Handle {
        let model: MLModel
        let inputs: MLFeatureProvider
        let compiledURL: URL
        init(model: MLModel, inputs: MLFeatureProvider, compiledURL: URL) {
            self.model = model
            self.inputs = inputs
            self.compiledURL = compiledURL
        }
    }

    public let unit: ComputeUnit
    public let seed: UInt64
    private let clock = SystemClock()

    public init(unit: ComputeUnit, seed: UInt64 = 0) {
        self.unit = unit
        self.seed = seed
    }

    /// Core ML ships with the OS; its version is reported as the OS version.
    public static var runtimeVersion: String { HostInfo.osString() }

    public func configuration() -> MLModelConfiguration {
        let config = MLModelConfiguration()
        config.computeUnits = unit.mlComputeUnits
        return config
    }

    public func load(_ spec: ModelSpec, url: URL) throws -> LoadedModel<Handle> {
        let config = configuration()
        let t0 = clock.now()
        let compiled = try runBlocking { try await MLModel.compileModel(at: url) }
        let t1 = clock.now()
        let model = try MLModel(contentsOf: compiled, configuration: config)
        let t2 = clock.now()
        let inputs = try Self.makeInputs(spec.inputs, seed: fnv1a64(spec.id) ^ seed)
        // Entries and overhead models alike: an overhead is subtracted only if it runs where its ops do.
        let planned = Self.computePlan(compiledURL: compiled, configuration: config)
        return LoadedModel(handle: Handle(model: model, inputs: inputs, compiledURL: compiled),
                           loadMs: (t2 - t1) * 1000, compileMs: (t1 - t0) * 1000,
                           plannedDevice: planned.0, plannedCost: planned.1)
    }

    public func predict(_ handle: Handle) throws {
        _ = try handle.model.prediction(from: handle.inputs)
    }

    public func unload(_ handle: Handle) {
        try? FileManager.default.removeItem(at: handle.compiledURL)
    }

    /// Fixed inputs: values uniform in [-1, 1) from SplitMix64(seed), fp16 or fp32 as declared.
    static func makeInputs(_ specs: [TensorSpec], seed: UInt64) throws -> MLFeatureProvider {
        var rng = SplitMix64(seed: seed)
        var features: [String: MLFeatureValue] = [:]
        for t in specs {
            let shape = t.shape.map { NSNumber(value: $0) }
            let array: MLMultiArray
            switch t.dtype {
            case .float16:
                array = try MLMultiArray(shape: shape, dataType: .float16)
                array.withUnsafeMutableBytes { raw, _ in
                    let p = raw.bindMemory(to: UInt16.self)
                    for i in 0..<p.count { p[i] = halfBits(Float(rng.nextUnit() * 2 - 1)) }
                }
            case .float32:
                array = try MLMultiArray(shape: shape, dataType: .float32)
                array.withUnsafeMutableBytes { raw, _ in
                    let p = raw.bindMemory(to: Float.self)
                    for i in 0..<p.count { p[i] = Float(rng.nextUnit() * 2 - 1) }
                }
            }
            features[t.name] = MLFeatureValue(multiArray: array)
        }
        return try MLDictionaryFeatureProvider(dictionary: features)
    }

    /// planned_device / planned_cost from MLComputePlan (iOS 17.4+ / macOS 14.4+), else unknown/null.
    static func computePlan(compiledURL: URL, configuration: MLModelConfiguration) -> (PlannedDevice, PlannedCost?) {
        if #available(iOS 17.4, macOS 14.4, *) {
            // The configuration is rebuilt inside the task: MLModelConfiguration is not Sendable.
            let units = configuration.computeUnits
            guard let plan = try? runBlocking({ () async throws -> MLComputePlan in
                      let config = MLModelConfiguration()
                      config.computeUnits = units
                      return try await MLComputePlan.load(contentsOf: compiledURL, configuration: config)
                  }),
                  case let .program(program) = plan.modelStructure,
                  let main = program.functions["main"] else {
                return (.unknown, nil)
            }
            var ops: [(device: PlannedDevice, weight: Double?)] = []
            func visit(_ block: MLModelStructure.Program.Block) {
                for op in block.operations {
                    let device: PlannedDevice
                    switch plan.deviceUsage(for: op)?.preferred {
                    case .cpu?: device = .cpu
                    case .gpu?: device = .gpu
                    case .neuralEngine?: device = .ane
                    default: device = .unknown
                    }
                    ops.append((device, plan.estimatedCost(of: op)?.weight))
                    for inner in op.blocks { visit(inner) }
                }
            }
            visit(main.block)
            return PlanSummary.summarize(ops)
        }
        return (.unknown, nil)
    }
}
#endif
