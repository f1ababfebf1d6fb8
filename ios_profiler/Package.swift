// swift-tools-version:5.9
// nas on-device profiling harness. No outside dependencies, by design.
import PackageDescription

let package = Package(
    name: "NASProfiler",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "ProfilerCore", targets: ["ProfilerCore"]),
        .library(name: "ProfilerCoreML", targets: ["ProfilerCoreML"]),
        .executable(name: "nas-profiler", targets: ["nas-profiler"]),
    ],
    targets: [
        // Portable: models, schema validator, measurement protocol, results I/O. Builds on Linux.
        .target(name: "ProfilerCore"),
        // Apple only: every source file is wrapped in `#if canImport(CoreML)`; empty elsewhere.
        .target(name: "ProfilerCoreML", dependencies: ["ProfilerCore"]),
        .executableTarget(name: "nas-profiler", dependencies: ["ProfilerCore", "ProfilerCoreML"]),
        .testTarget(name: "ProfilerCoreTests", dependencies: ["ProfilerCore"]),
    ]
)
