import Foundation
import ProfilerCore
#if canImport(CoreML)
import ProfilerCoreML
#endif

let usage = """
usage:
  nas-profiler validate-bundle BUNDLE_DIR [--schema-dir DIR]
  nas-profiler validate-results RESULTS.jsonl --manifest BUNDLE_DIR/manifest.json
               [--allow-other-device] [--allow-other-unit] [--allow-other-bundle]
               [--require-complete] [--schema-dir DIR]
  nas-profiler profile BUNDLE_DIR --unit cpu|gpu|ane|all --out RESULTS.jsonl
               [--resume] [--simulate] [--device-name NAME] [--allow-other-device]

exit status: 0 ok, 1 validation failure or mismatch, 2 usage error.
schema files: --schema-dir, else $NAS_PROFILER_SCHEMA_DIR, else ios_profiler/schema of the source checkout.
"""

struct UsageError: Error { var message: String }

/// Hand-rolled argument parsing: positionals, `--flag`, and `--option VALUE`.
struct Args {
    var positionals: [String] = []
    var flags: Set<String> = []
    var options: [String: String] = [:]

    init(_ argv: ArraySlice<String>, flags allowedFlags: Set<String>, options allowedOptions: Set<String>) throws {
        var it = argv.makeIterator()
        while let a = it.next() {
            if a.hasPrefix("--") {
                if allowedFlags.contains(a) {
                    flags.insert(a)
                } else if allowedOptions.contains(a) {
                    guard let v = it.next() else { throw UsageError(message: "\(a) needs a value") }
                    options[a] = v
                } else {
                    throw UsageError(message: "unknown option \(a)")
                }
            } else {
                positionals.append(a)
            }
        }
    }
}

func eprint(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

func schemaDir(_ args: Args) -> URL {
    if let d = args.options["--schema-dir"] { return URL(fileURLWithPath: d) }
    if let d = ProcessInfo.processInfo.environment["NAS_PROFILER_SCHEMA_DIR"] { return URL(fileURLWithPath: d) }
    // Sources/nas-profiler/main.swift -> ios_profiler/schema
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schema")
}

func loadSchema(_ args: Args, _ name: String) throws -> SchemaValidator {
    let url = schemaDir(args).appendingPathComponent(name)
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw ProfilerError.io("schema file not found: \(url.path) (use --schema-dir)")
    }
    return try SchemaValidator(schemaURL: url)
}

func validateBundle(_ argv: ArraySlice<String>) throws -> Int32 {
    let args = try Args(argv, flags: [], options: ["--schema-dir"])
    guard args.positionals.count == 1 else { throw UsageError(message: "validate-bundle needs BUNDLE_DIR") }
    let schema = try loadSchema(args, "manifest.schema.json")
    let report = BundleValidator.validate(bundleDir: URL(fileURLWithPath: args.positionals[0]), schema: schema)
    for w in report.warnings { eprint("warning: \(w)") }
    for e in report.errors { eprint("error: \(e)") }
    if report.ok, let m = report.manifest {
        print("ok: bundle \(m.bundleId) device \(m.device) units \(m.units.map(\.rawValue).joined(separator: ",")) "
            + "\(m.entries.count) entries, \(m.overheads.count) overheads")
        return 0
    }
    return 1
}

func validateResults(_ argv: ArraySlice<String>) throws -> Int32 {
    let args = try Args(argv, flags: ["--allow-other-device", "--allow-other-unit", "--allow-other-bundle", "--require-complete"],
                        options: ["--manifest", "--schema-dir"])
    guard args.positionals.count == 1, let manifestPath = args.options["--manifest"] else {
        throw UsageError(message: "validate-results needs RESULTS.jsonl and --manifest PATH")
    }
    let resultsURL = URL(fileURLWithPath: args.positionals[0])
    let manifestSchema = try loadSchema(args, "manifest.schema.json")
    let resultsSchema = try loadSchema(args, "results.schema.json")
    let manifestURL = URL(fileURLWithPath: manifestPath)
    guard let mdata = FileManager.default.contents(atPath: manifestURL.path) else {
        throw ProfilerError.io("cannot read \(manifestURL.path)")
    }
    let mErrors = manifestSchema.errors(try JSONValue.parse(mdata))
    if !mErrors.isEmpty {
        for e in mErrors { eprint("error: manifest: \(e)") }
        return 1
    }
    let manifest = try Manifest.decode(mdata)

    // Schema check, line by line (a truncated last line is reported by the checker, not here).
    guard let rdata = FileManager.default.contents(atPath: resultsURL.path) else {
        throw ProfilerError.io("cannot read \(resultsURL.path)")
    }
    var failed = false
    let rawLines = String(decoding: rdata, as: UTF8.self).components(separatedBy: "\n")
    let lastNonBlank = rawLines.lastIndex { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    for (i, raw) in rawLines.enumerated() where !raw.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let value = try? JSONValue.parse(raw) else {
            if i != lastNonBlank { eprint("error: line \(i + 1): not JSON"); failed = true }
            continue
        }
        do { try resultsSchema.validateResultsLine(value) } catch {
            eprint("error: line \(i + 1): \(error)")
            failed = true
        }
    }
    let contents = try ResultsFile.read(resultsURL)
    let options = ResultsChecker.Options(allowOtherBundle: args.flags.contains("--allow-other-bundle"),
                                         allowOtherDevice: args.flags.contains("--allow-other-device"),
                                         allowOtherUnit: args.flags.contains("--allow-other-unit"))
    let report = ResultsChecker(manifest: manifest, options: options).check(contents)
    for w in report.warnings { eprint("warning: \(w)") }
    for e in report.errors { eprint("error: \(e)") }
    if !report.missing.isEmpty {
        eprint("missing: \(report.missing.count) of \(manifest.entries.count) entries: "
            + report.missing.prefix(10).joined(separator: ", ") + (report.missing.count > 10 ? ", …" : ""))
        if args.flags.contains("--require-complete") { failed = true }
    }
    if failed || !report.ok { return 1 }
    print("ok: \(report.measured)/\(manifest.entries.count) entries measured")
    return 0
}

func profile(_ argv: ArraySlice<String>) throws -> Int32 {
    let args = try Args(argv, flags: ["--resume", "--simulate", "--allow-other-device"],
                        options: ["--unit", "--out", "--device-name"])
    guard args.positionals.count == 1, let unitName = args.options["--unit"], let out = args.options["--out"] else {
        throw UsageError(message: "profile needs BUNDLE_DIR, --unit and --out")
    }
    guard let unit = ComputeUnit(rawValue: unitName) else {
        throw UsageError(message: "unknown unit '\(unitName)' (cpu, gpu, ane = CPU and Neural Engine, all)")
    }
    let bundle = URL(fileURLWithPath: args.positionals[0])
    let options = ProfileJob.Options(unit: unit, resume: args.flags.contains("--resume"),
                                     allowOtherDevice: args.flags.contains("--allow-other-device"))
    let summary: (measured: Int, failed: [String: String])
    if args.flags.contains("--simulate") {
        let manifest = try Manifest.load(bundle.appendingPathComponent("manifest.json"))
        let clock = FakeClock()
        let s = try ProfileJob.run(bundleDir: bundle, out: URL(fileURLWithPath: out), options: options,
                                   device: HostInfo.simulatedDevice(manifest: manifest, name: args.options["--device-name"]),
                                   runner: SimulatedRunner(clock: clock, seed: manifest.measurement.seed, unit: unit,
                                                           manifest: manifest), clock: clock,
                                   conditions: FixedConditions())
        summary = (s.measured.count, s.failed)
    } else {
        #if canImport(CoreML)
        let manifest = try Manifest.load(bundle.appendingPathComponent("manifest.json"))
        let device = DeviceInfo(name: args.options["--device-name"] ?? manifest.device,
                                hardwareId: HostInfo.hardwareId() ?? "unknown", os: HostInfo.osString(),
                                runtime: "Core ML", runtimeVersion: CoreMLRunner.runtimeVersion)
        let s = try ProfileJob.run(bundleDir: bundle, out: URL(fileURLWithPath: out), options: options, device: device,
                                   runner: CoreMLRunner(unit: unit, seed: manifest.measurement.seed), clock: SystemClock())
        summary = (s.measured.count, s.failed)
        #else
        eprint("error: Core ML is not available on this platform; only `profile --simulate` works here")
        return 2
        #endif
    }
    eprint("done: \(summary.measured) measured this session, \(summary.failed.count) failed")
    return summary.failed.isEmpty ? 0 : 1
}

let argv = CommandLine.arguments
var status: Int32 = 0
do {
    switch argv.count > 1 ? argv[1] : "" {
    case "validate-bundle": status = try validateBundle(argv.dropFirst(2))
    case "validate-results": status = try validateResults(argv.dropFirst(2))
    case "profile": status = try profile(argv.dropFirst(2))
    case "-h", "--help", "help":
        print(usage)
    default:
        eprint(usage)
        status = 2
    }
} catch let e as UsageError {
    eprint("error: \(e.message)\n\n\(usage)")
    status = 2
} catch {
    eprint("error: \(error)")
    status = 1
}
exit(status)
