import Foundation

/// Versioned schema identifiers. A reader refuses any other value.
public enum SchemaVersion {
    public static let manifest = "nas.profiling.manifest/1"
    public static let results = "nas.profiling.results/1"
}

public let harnessName = "nas-profiler 0.1.0"

public enum ProfilerError: Error, CustomStringConvertible, Equatable {
    case unsupportedSchema(file: String, found: String, expected: String)
    case invalid(String)
    case mismatch(field: String, expected: String, found: String)
    case io(String)

    public var description: String {
        switch self {
        case let .unsupportedSchema(file, found, expected):
            return "\(file): unsupported schema '\(found)' (this harness reads '\(expected)')"
        case let .invalid(msg):
            return msg
        case let .mismatch(field, expected, found):
            return "mismatch in field '\(field)': expected \(expected), found \(found)"
        case let .io(msg):
            return msg
        }
    }
}

/// Compute-unit names used in manifests and results.
/// cpu = .cpuOnly, gpu = .cpuAndGPU, ane = .cpuAndNeuralEngine (CPU and Neural Engine, no GPU),
/// all = .all (Core ML picks among CPU, GPU and Neural Engine: the reference article's "ANE" column).
/// cpu_and_ane is the older name of `ane` (same setting), still read from old files.
public enum ComputeUnit: String, Codable, CaseIterable, Sendable {
    case cpu, gpu, ane, all
    case cpuAndANE = "cpu_and_ane"
}

public enum TensorDType: String, Codable, Sendable {
    case float16, float32
}

public struct TensorSpec: Codable, Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var dtype: TensorDType

    public init(name: String, shape: [Int], dtype: TensorDType) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
    }

    public var elementCount: Int { shape.reduce(1, *) }
}

/// The measurement protocol. Identical object in manifest and results header.
public struct MeasurementProtocol: Codable, Equatable, Sendable {
    public var warmupRuns: Int
    public var minRuns: Int
    public var minTimeS: Double
    public var maxRuns: Int
    public var cooldownS: Double
    public var shuffle: Bool
    public var seed: UInt64
    public var outlierMadK: Double

    enum CodingKeys: String, CodingKey {
        case warmupRuns = "warmup_runs", minRuns = "min_runs", minTimeS = "min_time_s"
        case maxRuns = "max_runs", cooldownS = "cooldown_s", shuffle, seed
        case outlierMadK = "outlier_mad_k"
    }

    public init(warmupRuns: Int = 10, minRuns: Int = 50, minTimeS: Double = 1.0, maxRuns: Int = 2000,
                cooldownS: Double = 0.2, shuffle: Bool = false, seed: UInt64 = 0, outlierMadK: Double = 5.0) {
        self.warmupRuns = warmupRuns
        self.minRuns = minRuns
        self.minTimeS = minTimeS
        self.maxRuns = maxRuns
        self.cooldownS = cooldownS
        self.shuffle = shuffle
        self.seed = seed
        self.outlierMadK = outlierMadK
    }
}

public struct OverheadSpec: Codable, Equatable, Sendable {
    public var id: String
    public var file: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]

    public init(id: String, file: String, inputs: [TensorSpec], outputs: [TensorSpec]) {
        self.id = id
        self.file = file
        self.inputs = inputs
        self.outputs = outputs
    }
}

public struct EntrySpec: Codable, Equatable, Sendable {
    public var key: String
    public var file: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    /// Id of an overhead model with the same input/output shapes; nil = nothing subtracted.
    public var overhead: String?
    /// Set for a whole network (calibration or validation) rather than one op.
    public var network: NetworkSpec?

    public init(key: String, file: String, inputs: [TensorSpec], outputs: [TensorSpec], overhead: String?,
                network: NetworkSpec? = nil) {
        self.key = key
        self.file = file
        self.inputs = inputs
        self.outputs = outputs
        self.overhead = overhead
        self.network = network
    }
}

/// A whole network of a bundle: its role, where it was drawn from, and its layers' entry keys in order.
public struct NetworkSpec: Codable, Equatable, Sendable {
    public var role: String
    public var space: String
    public var seed: Int
    public var index: Int
    public var arch: String
    public var layers: [String]

    public init(role: String, space: String, seed: Int, index: Int, arch: String, layers: [String]) {
        self.role = role
        self.space = space
        self.seed = seed
        self.index = index
        self.arch = arch
        self.layers = layers
    }
}

public struct Manifest: Codable, Equatable, Sendable {
    public var schema: String
    public var bundleId: String
    public var created: String
    public var generator: String
    public var device: String
    public var hardwareIds: [String]
    public var units: [ComputeUnit]
    public var precision: String
    /// The packages' weight format: nil (fp16) or a compression of `nas export --compress` (int8, lut8, lut6,
    /// lut4). The harness loads any package alike; it copies this into the results header.
    public var weights: String?
    public var measurement: MeasurementProtocol
    public var overheads: [OverheadSpec]
    public var entries: [EntrySpec]

    enum CodingKeys: String, CodingKey {
        case schema, bundleId = "bundle_id", created, generator, device, hardwareIds = "hardware_ids"
        case units, precision, weights, measurement = "protocol", overheads, entries
    }

    public init(schema: String = SchemaVersion.manifest, bundleId: String, created: String, generator: String,
                device: String, hardwareIds: [String], units: [ComputeUnit], precision: String,
                weights: String? = nil,
                measurement: MeasurementProtocol, overheads: [OverheadSpec], entries: [EntrySpec]) {
        self.schema = schema
        self.bundleId = bundleId
        self.created = created
        self.generator = generator
        self.device = device
        self.hardwareIds = hardwareIds
        self.units = units
        self.precision = precision
        self.weights = weights
        self.measurement = measurement
        self.overheads = overheads
        self.entries = entries
    }

    /// Decodes a manifest, refusing unknown schema versions before anything else.
    public static func decode(_ data: Data, file: String = "manifest.json") throws -> Manifest {
        struct Probe: Decodable { var schema: String? }
        let probe = try? JSONDecoder().decode(Probe.self, from: data)
        guard let schema = probe?.schema else {
            throw ProfilerError.invalid("\(file): not a JSON object with a 'schema' string")
        }
        guard schema == SchemaVersion.manifest else {
            throw ProfilerError.unsupportedSchema(file: file, found: schema, expected: SchemaVersion.manifest)
        }
        do {
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw ProfilerError.invalid("\(file): \(describeDecodingError(error))")
        }
    }

    public static func load(_ url: URL) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ProfilerError.io("cannot read \(url.path)")
        }
        return try decode(data, file: url.lastPathComponent)
    }

    public func overhead(id: String) -> OverheadSpec? { overheads.first { $0.id == id } }

    /// True when `hardwareId` is listed, or matches a listed prefix pattern ending in `*` (e.g. "Mac*").
    public func accepts(hardwareId: String) -> Bool {
        hardwareIds.contains { HardwareID.matches(pattern: $0, hardwareId) }
    }
}

func describeDecodingError(_ error: Error) -> String {
    if let e = error as? DecodingError {
        func path(_ ctx: DecodingError.Context) -> String {
            ctx.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case let .keyNotFound(key, ctx):
            let p = path(ctx)
            return "missing field '\(p.isEmpty ? key.stringValue : p + "." + key.stringValue)'"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
            return "bad value at '\(path(ctx))': \(ctx.debugDescription)"
        case let .dataCorrupted(ctx):
            return "corrupt data at '\(path(ctx))': \(ctx.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }
    return "\(error)"
}

public enum HardwareID {
    public static func matches(pattern: String, _ id: String) -> Bool {
        if pattern.hasSuffix("*") { return id.hasPrefix(String(pattern.dropLast())) }
        return pattern == id
    }

    /// Known device names and their hardware identifiers (mac = any "Mac*" model id).
    public static let catalog: [String: [String]] = [
        "iphone11": ["iPhone12,1"],
        "iphone11pro": ["iPhone12,3"],
        "iphone11promax": ["iPhone12,5"],
        "iphonexs": ["iPhone11,2"],
        "iphonexsmax": ["iPhone11,4", "iPhone11,6"],
        "iphonexr": ["iPhone11,8"],
        "iphonex": ["iPhone10,3", "iPhone10,6"],
        "iphone12": ["iPhone13,2"],
        "iphone13": ["iPhone14,5"],
        "iphone14": ["iPhone14,7"],
        "iphone15": ["iPhone15,4"],
        "mac": ["Mac*"],
    ]
}
