import Foundation

/// The hand-off between the detached task and the waiting thread: written once by the task, read
/// after the semaphore. A class (not a captured `var`, which Swift 5.9 and the Swift 6 language
/// mode reject in a `@Sendable` closure); `@unchecked Sendable` because the semaphore orders the
/// write before the read.
final class BlockingBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
    let done = DispatchSemaphore(value: 0)
}

/// Runs an async Core ML API from the synchronous runner (never call on the main actor's thread
/// while it is needed by the awaited work; the CLI and the app call the runner off the main thread).
public func runBlocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingBox<T>()
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        box.done.signal()
    }
    box.done.wait()
    return try box.result!.get()
}
