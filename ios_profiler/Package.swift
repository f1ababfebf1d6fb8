// swift-tools-version:6.0
// nas on-device profiling harness. No outside dependencies, by design.
import PackageDescription

let package = Package(
    name: "NASProfiler",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "ProfilerCore", targets: ["ProfilerCore"]),
        .library(name: "ProfilerCoreML", targets: ["ProfilerCoreML"]),
        .library(name: "ProfilerAppSupport", targets: ["ProfilerAppSupport"]),
        .executable(name: "nas-profiler", targets: ["nas-profiler"]),
    ],
    targets: [
        // Portable: models, schema validator, measurement protocol, results I/O. Builds on Linux.
        .target(name: "ProfilerCore"),
        // Apple only: every source file is wrapped in `#if canImport(CoreML)`; empty elsewhere.
        .target(name: "ProfilerCoreML", dependencies: ["ProfilerCore"]),
        // SwiftUI view of the iOS host app (iOS only; empty elsewhere). The app's @main file,
        // App/NASProfilerApp/NASProfilerApp.swift, belongs to an Xcode app target (see README).
        .target(name: "ProfilerAppSupport", dependencies: ["ProfilerCore", "ProfilerCoreML"],
                path: "App/NASProfilerApp", exclude: ["NASProfilerApp.swift"]),
        .executableTarget(name: "nas-profiler", dependencies: ["ProfilerCore", "ProfilerCoreML"]),
        .testTarget(name: "ProfilerCoreTests", dependencies: ["ProfilerCore"]),
        // Real Core ML profiling as an XCTest, driven by environment variables; skipped when unset.
        .testTarget(name: "ProfilerDeviceTests", dependencies: ["ProfilerCore", "ProfilerCoreML"]),
    ]
)
