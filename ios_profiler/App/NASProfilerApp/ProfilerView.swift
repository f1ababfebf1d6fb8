// Minimal SwiftUI front end for on-device profiling (iOS only; compiles to nothing elsewhere).
// Built as the package target ProfilerAppSupport so CI can compile it for the iOS Simulator.
//
// Launch arguments (after `--` with `xcrun devicectl device process launch`):
//   --bundle DIR        bundle folder, relative to the app's Documents folder (or absolute)
//   --unit U            cpu | gpu | ane | all
//   --out FILE          results file in Documents (default results.jsonl)
//   --device-name NAME  overrides the manifest's device name in the header
//   --allow-other-device
// With --bundle and --unit the run starts at launch. The results file is always resumed, so
// relaunching after a crash or a kill continues where it stopped. A log goes to Documents/profiler.log.
#if canImport(SwiftUI) && os(iOS)
import Foundation
import ProfilerCore
import ProfilerCoreML
import SwiftUI
import UIKit

public struct AppArguments {
    public var bundle: String?
    public var unit: ComputeUnit = .ane
    public var out = "results.jsonl"
    public var deviceName: String?
    public var allowOtherDevice = false

    public init(_ argv: [String] = ProcessInfo.processInfo.arguments) {
        var i = 1
        func value() -> String? { i += 1; return i < argv.count ? argv[i] : nil }
        while i < argv.count {
            switch argv[i] {
            case "--bundle": bundle = value()
            case "--unit": if let v = value(), let u = ComputeUnit(rawValue: v) { unit = u }
            case "--out": if let v = value() { out = v }
            case "--device-name": deviceName = value()
            case "--allow-other-device": allowOtherDevice = true
            default: break
            }
            i += 1
        }
    }
}

@MainActor
final class ProfilerModel: ObservableObject {
    @Published var lines: [String] = []
    @Published var running = false
    let args = AppArguments()

    nonisolated static var documents: URL { FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0] }

    nonisolated static func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : documents.appendingPathComponent(path)
    }

    struct Sink: ProgressSink {
        let model: ProfilerModel
        let log: URL
        func progress(_ line: String) {
            if let h = try? FileHandle(forWritingTo: log) {
                _ = try? h.seekToEnd()
                try? h.write(contentsOf: Data((line + "\n").utf8))
                try? h.close()
            }
            Task { @MainActor in
                model.lines.append(line)
                if model.lines.count > 200 { model.lines.removeFirst(model.lines.count - 200) }
            }
        }
    }

    func start() {
        guard !running, let bundlePath = args.bundle else {
            lines.append("launch with --bundle DIR --unit U (see README)")
            return
        }
        running = true
        UIApplication.shared.isIdleTimerDisabled = true
        let args = self.args
        let log = Self.documents.appendingPathComponent("profiler.log")
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let sink = Sink(model: self, log: log)
        Thread.detachNewThread {
            let bundle = Self.resolve(bundlePath)
            let out = Self.resolve(args.out)
            do {
                let manifest = try Manifest.load(bundle.appendingPathComponent("manifest.json"))
                let device = DeviceInfo(name: args.deviceName ?? manifest.device,
                                        hardwareId: HostInfo.hardwareId() ?? "unknown", os: HostInfo.osString(),
                                        runtime: "Core ML", runtimeVersion: CoreMLRunner.runtimeVersion)
                let summary = try ProfileJob.run(
                    bundleDir: bundle, out: out,
                    options: .init(unit: args.unit, resume: true, allowOtherDevice: args.allowOtherDevice),
                    device: device, runner: CoreMLRunner(unit: args.unit, seed: manifest.measurement.seed),
                    clock: SystemClock(), progress: sink)
                sink.progress("done: \(summary.measured.count) measured, \(summary.failed.count) failed -> \(out.lastPathComponent)")
            } catch {
                sink.progress("error: \(error)")
            }
            Task { @MainActor in
                self.running = false
                UIApplication.shared.isIdleTimerDisabled = false
            }
        }
    }
}

public struct ProfilerView: View {
    @StateObject private var model = ProfilerModel()

    public init() {}

    public var body: some View {
        NavigationView {
            List(Array(model.lines.enumerated()), id: \.offset) { _, line in
                Text(line).font(.system(.caption, design: .monospaced))
            }
            .navigationTitle(model.running ? "Profiling…" : "nas-profiler")
            .toolbar {
                Button("Start") { model.start() }.disabled(model.running)
            }
        }
        .onAppear { if model.args.bundle != nil { model.start() } }
    }
}
#endif
