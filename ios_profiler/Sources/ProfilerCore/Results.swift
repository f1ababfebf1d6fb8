import Foundation

public struct DeviceInfo: Codable, Equatable, Sendable {
    public var name: String
    public var hardwareId: String
    public var os: String
    public var runtime: String
    public var runtimeVersion: String

    enum CodingKeys: String, CodingKey {
        case name, hardwareId = "hardware_id", os, runtime, runtimeVersion = "runtime_version"
    }

    public init(name: String, hardwareId: String, os: String, runtime: String, runtimeVersion: String) {
        self.name = name
        self.hardwareId = hardwareId
        self.os = os
        self.runtime = runtime
        self.runtimeVersion = runtimeVersion
    }
}

public struct ResultsHeader: Codable, Equatable, Sendable {
    public var schema: String
    public var bundleId: String
    public var device: DeviceInfo
    public var unit: ComputeUnit
    public var measurement: MeasurementProtocol
    public var started: String
    public var harness: String
    /// The manifest's weight format (nil: fp16, and the key is left out), so that an importer can refuse
    /// results of packages with another format.
    public var weights: String?

    enum CodingKeys: String, CodingKey {
        case schema, bundleId = "bundle_id", device, unit, measurement = "protocol", started, harness, weights
    }

    public init(schema: String = SchemaVersion.results, bundleId: String, device: DeviceInfo, unit: ComputeUnit,
                measurement: MeasurementProtocol, started: String, harness: String = harnessName,
                weights: String? = nil) {
        self.schema = schema
        self.bundleId = bundleId
        self.device = device
        self.unit = unit
        self.measurement = measurement
        self.started = started
        self.harness = harness
        self.weights = weights
    }
}

/// Summary statistics of one timed series, in milliseconds (total_time_s in seconds).
public struct Stats: Codable, Equatable, Sendable {
    public var medianMs: Double
    public var p10Ms: Double
    public var p90Ms: Double
    public var madMs: Double
    public var meanMs: Double
    public var minMs: Double
    public var maxMs: Double
    public var n: Int
    public var outliersRemoved: Int
    public var totalTimeS: Double

    enum CodingKeys: String, CodingKey {
        case medianMs = "median_ms", p10Ms = "p10_ms", p90Ms = "p90_ms", madMs = "mad_ms", meanMs = "mean_ms"
        case minMs = "min_ms", maxMs = "max_ms", n, outliersRemoved = "outliers_removed", totalTimeS = "total_time_s"
    }

    public init(medianMs: Double, p10Ms: Double, p90Ms: Double, madMs: Double, meanMs: Double, minMs: Double,
                maxMs: Double, n: Int, outliersRemoved: Int, totalTimeS: Double) {
        self.medianMs = medianMs
        self.p10Ms = p10Ms
        self.p90Ms = p90Ms
        self.madMs = madMs
        self.meanMs = meanMs
        self.minMs = minMs
        self.maxMs = maxMs
        self.n = n
        self.outliersRemoved = outliersRemoved
        self.totalTimeS = totalTimeS
    }
}

public struct OverheadResult: Codable, Equatable, Sendable {
    public var id: String
    public var stats: Stats

    public init(id: String, stats: Stats) {
        self.id = id
        self.stats = stats
    }
}

public enum ThermalStateName: String, Codable, Sendable {
    case nominal, fair, serious, critical, unknown
}

public enum PlannedDevice: String, Codable, Sendable {
    case ane, gpu, cpu, mixed, unknown
}

/// Share of the estimated cost per device (weights normalised to sum to 1).
public struct PlannedCost: Codable, Equatable, Sendable {
    public var ane: Double
    public var gpu: Double
    public var cpu: Double

    public init(ane: Double, gpu: Double, cpu: Double) {
        self.ane = ane
        self.gpu = gpu
        self.cpu = cpu
    }
}

public struct EntryResult: Codable, Equatable, Sendable {
    public var key: String
    public var loadMs: Double
    public var compileMs: Double
    public var stats: Stats
    public var overheadMs: Double
    public var latencyMs: Double
    public var thermalState: ThermalStateName
    public var lowPowerMode: Bool
    public var plannedDevice: PlannedDevice
    public var plannedCost: PlannedCost?

    enum CodingKeys: String, CodingKey {
        case key, loadMs = "load_ms", compileMs = "compile_ms", stats, overheadMs = "overhead_ms"
        case latencyMs = "latency_ms", thermalState = "thermal_state", lowPowerMode = "low_power_mode"
        case plannedDevice = "planned_device", plannedCost = "planned_cost"
    }

    public init(key: String, loadMs: Double, compileMs: Double, stats: Stats, overheadMs: Double, latencyMs: Double,
                thermalState: ThermalStateName, lowPowerMode: Bool, plannedDevice: PlannedDevice,
                plannedCost: PlannedCost?) {
        self.key = key
        self.loadMs = loadMs
        self.compileMs = compileMs
        self.stats = stats
        self.overheadMs = overheadMs
        self.latencyMs = latencyMs
        self.thermalState = thermalState
        self.lowPowerMode = lowPowerMode
        self.plannedDevice = plannedDevice
        self.plannedCost = plannedCost
    }

    // planned_cost is always written (null when unknown), never omitted.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(loadMs, forKey: .loadMs)
        try c.encode(compileMs, forKey: .compileMs)
        try c.encode(stats, forKey: .stats)
        try c.encode(overheadMs, forKey: .overheadMs)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(thermalState, forKey: .thermalState)
        try c.encode(lowPowerMode, forKey: .lowPowerMode)
        try c.encode(plannedDevice, forKey: .plannedDevice)
        if let plannedCost { try c.encode(plannedCost, forKey: .plannedCost) } else { try c.encodeNil(forKey: .plannedCost) }
    }
}

public struct ResultsFooter: Codable, Equatable, Sendable {
    public var finished: String
    public var entries: Int

    public init(finished: String, entries: Int) {
        self.finished = finished
        self.entries = entries
    }
}

/// One line of a results.jsonl file, discriminated by "kind".
public enum ResultLine: Codable, Equatable, Sendable {
    case header(ResultsHeader)
    case overhead(OverheadResult)
    case entry(EntryResult)
    case footer(ResultsFooter)

    enum KindKey: String, CodingKey { case kind }

    public var kind: String {
        switch self {
        case .header: return "header"
        case .overhead: return "overhead"
        case .entry: return "entry"
        case .footer: return "footer"
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: KindKey.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "header": self = .header(try ResultsHeader(from: decoder))
        case "overhead": self = .overhead(try OverheadResult(from: decoder))
        case "entry": self = .entry(try EntryResult(from: decoder))
        case "footer": self = .footer(try ResultsFooter(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown line kind '\(kind)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: KindKey.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case let .header(h): try h.encode(to: encoder)
        case let .overhead(o): try o.encode(to: encoder)
        case let .entry(e): try e.encode(to: encoder)
        case let .footer(f): try f.encode(to: encoder)
        }
    }

    /// Encodes as one compact JSON line (sorted keys, no trailing newline).
    public func jsonLine() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }

    /// Decodes one line; a header with an unknown schema version is refused.
    public static func decode(line: String) throws -> ResultLine {
        let decoded: ResultLine
        do {
            decoded = try JSONDecoder().decode(ResultLine.self, from: Data(line.utf8))
        } catch {
            throw ProfilerError.invalid(describeDecodingError(error))
        }
        if case let .header(h) = decoded, h.schema != SchemaVersion.results {
            throw ProfilerError.unsupportedSchema(file: "results", found: h.schema, expected: SchemaVersion.results)
        }
        return decoded
    }
}

public enum ISO8601 {
    public static func string(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
