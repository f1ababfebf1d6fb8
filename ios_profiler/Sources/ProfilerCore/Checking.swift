import Foundation

/// Checks a results file against the manifest it claims to measure.
public struct ResultsChecker {
    public struct Options {
        public var allowOtherBundle = false
        public var allowOtherDevice = false
        public var allowOtherUnit = false
        public init(allowOtherBundle: Bool = false, allowOtherDevice: Bool = false, allowOtherUnit: Bool = false) {
            self.allowOtherBundle = allowOtherBundle
            self.allowOtherDevice = allowOtherDevice
            self.allowOtherUnit = allowOtherUnit
        }
    }

    public struct Report {
        /// Fatal problems; empty means the file is accepted.
        public var errors: [String] = []
        /// Accepted only because of an override flag, or other notes.
        public var warnings: [String] = []
        /// Manifest entry keys with no entry line.
        public var missing: [String] = []
        public var measured = 0
        public var ok: Bool { errors.isEmpty }
    }

    public var manifest: Manifest
    public var options: Options

    public init(manifest: Manifest, options: Options = Options()) {
        self.manifest = manifest
        self.options = options
    }

    public func check(_ contents: ResultsFileContents) -> Report {
        var r = Report()
        if contents.droppedLastLine != nil {
            r.warnings.append("the last line is truncated/unparseable and was ignored")
        }
        guard let h = contents.header else {
            r.errors.append("header: the first line is not a header")
            return r
        }
        if h.bundleId != manifest.bundleId {
            let msg = "bundle_id: results measure bundle \(h.bundleId), manifest is \(manifest.bundleId)"
            if options.allowOtherBundle { r.warnings.append(msg + " (allowed by override)") } else { r.errors.append(msg) }
        }
        if !manifest.accepts(hardwareId: h.device.hardwareId) {
            let msg = "device.hardware_id: \(h.device.hardwareId) is not among the manifest's hardware_ids "
                + "\(manifest.hardwareIds) for device '\(manifest.device)'"
            if options.allowOtherDevice { r.warnings.append(msg + " (allowed by --allow-other-device)") } else { r.errors.append(msg) }
        }
        if !manifest.units.contains(h.unit) {
            let msg = "unit: '\(h.unit.rawValue)' is not among the manifest's units \(manifest.units.map(\.rawValue))"
            if options.allowOtherUnit { r.warnings.append(msg + " (allowed by --allow-other-unit)") } else { r.errors.append(msg) }
        }
        if (h.weights ?? "fp16") != (manifest.weights ?? "fp16") {
            r.errors.append("weights: results measure \(h.weights ?? "fp16") weights, the manifest's packages are "
                + "\(manifest.weights ?? "fp16")")
        }
        if h.measurement != manifest.measurement {
            r.warnings.append("protocol: the results header's protocol differs from the manifest's")
        }
        for (i, line) in contents.lines.enumerated() where i > 0 {
            if case .header = line { r.errors.append("header: a second header at line \(i + 1)") }
            if case .footer = line, i != contents.lines.count - 1 {
                r.errors.append("footer: a footer that is not the last line (line \(i + 1))")
            }
        }
        let known = Set(manifest.entries.map(\.key))
        var seen = Set<String>()
        for e in contents.entries {
            if !known.contains(e.key) { r.errors.append("key: entry '\(e.key)' is not in the manifest") }
            if !seen.insert(e.key).inserted { r.errors.append("key: entry '\(e.key)' appears twice") }
        }
        let overheadIds = Set(manifest.overheads.map(\.id))
        for o in contents.overheads where !overheadIds.contains(o.id) {
            r.errors.append("id: overhead '\(o.id)' is not in the manifest")
        }
        if let f = contents.footer, f.entries != contents.entries.count {
            r.errors.append("footer.entries: \(f.entries) but the file has \(contents.entries.count) entry lines")
        }
        r.measured = seen.intersection(known).count
        r.missing = manifest.entries.map(\.key).filter { !seen.contains($0) }
        return r
    }
}

/// Checks a bundle folder: manifest schema, manifest semantics, every referenced file present.
public enum BundleValidator {
    public struct Report {
        public var errors: [String] = []
        public var warnings: [String] = []
        public var manifest: Manifest?
        public var ok: Bool { errors.isEmpty }
    }

    public static func validate(bundleDir: URL, schema: SchemaValidator?) -> Report {
        var r = Report()
        let manifestURL = bundleDir.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            r.errors.append("cannot read \(manifestURL.path)")
            return r
        }
        if let schema {
            do {
                r.errors += schema.errors(try JSONValue.parse(data))
            } catch {
                r.errors.append("manifest.json: \(error)")
                return r
            }
        }
        let m: Manifest
        do { m = try Manifest.decode(data) } catch {
            r.errors.append("\(error)")
            return r
        }
        r.manifest = m
        r.errors += semanticErrors(m)
        if let known = HardwareID.catalog[m.device] {
            if Set(known) != Set(m.hardwareIds) {
                r.warnings.append("hardware_ids \(m.hardwareIds) differ from the known ids \(known) for '\(m.device)'")
            }
        } else {
            r.warnings.append("device '\(m.device)' is not in the harness's device catalog")
        }
        let fm = FileManager.default
        for (what, file) in m.overheads.map({ ("overhead \($0.id)", $0.file) }) + m.entries.map({ ("entry \($0.key)", $0.file) }) {
            if !fm.fileExists(atPath: bundleDir.appendingPathComponent(file).path) {
                r.errors.append("file: \(what): \(file) does not exist in the bundle")
            }
        }
        return r
    }

    /// Rules the schema cannot express.
    public static func semanticErrors(_ m: Manifest) -> [String] {
        var errors: [String] = []
        var keys = Set<String>()
        for e in m.entries where !keys.insert(e.key).inserted { errors.append("entries: duplicate key '\(e.key)'") }
        var ids = Set<String>()
        for o in m.overheads where !ids.insert(o.id).inserted { errors.append("overheads: duplicate id '\(o.id)'") }
        for e in m.entries {
            guard let oid = e.overhead else { continue }
            guard let o = m.overhead(id: oid) else {
                errors.append("entries: '\(e.key)' names unknown overhead '\(oid)'")
                continue
            }
            if o.inputs.map(\.shape) != e.inputs.map(\.shape) || o.outputs.map(\.shape) != e.outputs.map(\.shape) {
                errors.append("entries: '\(e.key)' and its overhead '\(oid)' have different input/output shapes")
            }
        }
        for e in m.entries {
            guard let net = e.network else { continue }
            if e.overhead != nil { errors.append("entries: network '\(e.key)' must not name an overhead (timed end to end)") }
            for layer in net.layers where !keys.contains(layer) {
                errors.append("entries: network '\(e.key)' has layer '\(layer)', which is not an entry")
            }
        }
        if m.measurement.maxRuns < m.measurement.minRuns {
            errors.append("protocol: max_runs (\(m.measurement.maxRuns)) < min_runs (\(m.measurement.minRuns))")
        }
        return errors
    }
}

/// Reduces a Core ML compute plan (one (device, weight) pair per ML-program operation) to
/// planned_device and planned_cost.
///
/// planned_cost: per-device sum of the operations' estimated weights, divided by the total
/// (null when no operation has a weight or the total is 0).
/// planned_device: the single device that carries all the weight (or, without weights, the
/// single device that runs all operations); "mixed" when more than one; "unknown" with no ops.
public enum PlanSummary {
    public static func summarize(_ ops: [(device: PlannedDevice, weight: Double?)]) -> (PlannedDevice, PlannedCost?) {
        guard !ops.isEmpty else { return (.unknown, nil) }
        var w: [PlannedDevice: Double] = [:]
        for op in ops { w[op.device, default: 0] += op.weight ?? 0 }
        let total = w.values.reduce(0, +)
        let cost: PlannedCost? = total > 0
            ? PlannedCost(ane: (w[.ane] ?? 0) / total, gpu: (w[.gpu] ?? 0) / total, cpu: (w[.cpu] ?? 0) / total)
            : nil
        let devices: Set<PlannedDevice> = total > 0
            ? Set(w.filter { $0.value > 0 }.keys)
            : Set(ops.map(\.device))
        let known = devices.subtracting([.unknown])
        if known.count == 1, devices.count == 1 { return (known.first!, cost) }
        if devices.count > 1 { return (.mixed, cost) }
        return (.unknown, cost)
    }
}
