// The iOS host app's entry point. Not part of the Swift package (SwiftPM cannot build an .app):
// add this file to an Xcode iOS App target that links the package products ProfilerCore,
// ProfilerCoreML and ProfilerAppSupport (see ios_profiler/README.md). NOT built or run here.
#if canImport(SwiftUI) && os(iOS)
import ProfilerAppSupport
import SwiftUI

@main
struct NASProfilerApp: App {
    var body: some Scene {
        WindowGroup { ProfilerView() }
    }
}
#endif
