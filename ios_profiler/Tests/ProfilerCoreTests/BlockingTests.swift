import Foundation
import XCTest
@testable import ProfilerCore

/// `runBlocking` is what the Core ML runner uses to call Apple's async APIs (compileModel,
/// MLComputePlan.load) from the synchronous protocol; it is portable, so it is tested here.
final class BlockingTests: XCTestCase {
    struct Boom: Error, Equatable {}

    func testReturnsTheAsyncResult() throws {
        let v = try runBlocking { () async throws -> Int in
            try await Task.sleep(nanoseconds: 1_000_000)
            return 41 + 1
        }
        XCTAssertEqual(v, 42)
    }

    func testRethrowsTheAsyncError() {
        XCTAssertThrowsError(try runBlocking { () async throws -> Int in throw Boom() }) { err in
            XCTAssertEqual(err as? Boom, Boom())
        }
    }
}
