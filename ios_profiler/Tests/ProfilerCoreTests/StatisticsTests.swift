import Foundation
import XCTest
@testable import ProfilerCore

final class StatisticsTests: XCTestCase {
    func testPercentilesLinearInterpolation() {
        let x: [Double] = [4, 1, 3, 2]   // sorted 1 2 3 4
        XCTAssertEqual(Statistics.percentile(x, 0.5), 2.5, accuracy: 1e-12)
        XCTAssertEqual(Statistics.percentile(x, 0.1), 1.3, accuracy: 1e-12)
        XCTAssertEqual(Statistics.percentile(x, 0.9), 3.7, accuracy: 1e-12)
        XCTAssertEqual(Statistics.percentile(x, 0), 1)
        XCTAssertEqual(Statistics.percentile(x, 1), 4)
        // numpy.percentile(range(1, 11), [10, 50, 90]) == [1.9, 5.5, 9.1]
        let ten = (1...10).map(Double.init)
        XCTAssertEqual(Statistics.percentile(ten, 0.1), 1.9, accuracy: 1e-12)
        XCTAssertEqual(Statistics.percentile(ten, 0.5), 5.5, accuracy: 1e-12)
        XCTAssertEqual(Statistics.percentile(ten, 0.9), 9.1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.median([7]), 7)
        XCTAssertEqual(Statistics.median([5, 1, 9]), 5)
    }

    func testMAD() {
        // median 2; |x - 2| = 1 1 0 0 2 4 7 -> median 1
        XCTAssertEqual(Statistics.mad([1, 1, 2, 2, 4, 6, 9]), 1)
        XCTAssertEqual(Statistics.mad([3, 3, 3]), 0)
    }

    func testOutlierRemoval() {
        let x: [Double] = [10, 10, 11, 10, 12, 100]
        // sorted 10 10 10 11 12 100: median 10.5; |x - 10.5| = .5 .5 .5 .5 1.5 89.5 -> MAD 0.5
        XCTAssertEqual(Statistics.median(x), 10.5)
        XCTAssertEqual(Statistics.mad(x), 0.5)
        let (kept, removed) = Statistics.removeOutliers(x, k: 5)   // keep |x - 10.5| <= 2.5
        XCTAssertEqual(removed, 1)
        XCTAssertEqual(kept, [10, 10, 11, 10, 12])
        XCTAssertEqual(Statistics.removeOutliers(x, k: 0).removed, 0)       // disabled
        XCTAssertEqual(Statistics.removeOutliers([1, 1, 1, 9], k: 5).removed, 0) // MAD 0: keep all
        let s = Statistics.summarize(x, outlierMadK: 5, totalTimeS: 2)
        XCTAssertEqual(s.n, 5)
        XCTAssertEqual(s.outliersRemoved, 1)
        XCTAssertEqual(s.medianMs, 10)
        XCTAssertEqual(s.meanMs, 10.6, accuracy: 1e-12)
        XCTAssertEqual(s.minMs, 10)
        XCTAssertEqual(s.maxMs, 12)
        XCTAssertEqual(s.p10Ms, 10)
        XCTAssertEqual(s.p90Ms, 11.6, accuracy: 1e-12)
        XCTAssertEqual(s.madMs, 0)
        XCTAssertEqual(s.totalTimeS, 2)
    }

    func testSplitMix64KnownValues() {
        var r = SplitMix64(seed: 0)
        XCTAssertEqual(r.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(r.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(r.next(), 0x06C4_5D18_8009_454F)
        var u = SplitMix64(seed: 7)
        for _ in 0..<1000 { let v = u.nextUnit(); XCTAssertTrue(v >= 0 && v < 1) }
    }

    func testSeededShuffleIsDeterministic() {
        let items = Array(0..<10)
        // Reference values from the same algorithm in Python (see README).
        XCTAssertEqual(Ordering.shuffled(items, seed: 42), [0, 9, 5, 8, 6, 4, 7, 2, 1, 3])
        XCTAssertEqual(Ordering.shuffled(items, seed: 0), [6, 3, 2, 9, 8, 1, 4, 7, 0, 5])
        XCTAssertEqual(Ordering.shuffled(items, seed: 42), Ordering.shuffled(items, seed: 42))
        XCTAssertNotEqual(Ordering.shuffled(items, seed: 1), Ordering.shuffled(items, seed: 2))
        XCTAssertEqual(Ordering.shuffled(items, seed: 5).sorted(), items)
        let p = MeasurementProtocol(shuffle: false, seed: 42)
        XCTAssertEqual(Ordering.order(items, protocol: p), items)
        XCTAssertEqual(Ordering.shuffled([Int](), seed: 3), [])
    }

    func testHalfBits() {
        XCTAssertEqual(halfBits(0), 0x0000)
        XCTAssertEqual(halfBits(-0.0), 0x8000)
        XCTAssertEqual(halfBits(1), 0x3C00)
        XCTAssertEqual(halfBits(-2), 0xC000)
        XCTAssertEqual(halfBits(0.5), 0x3800)
        XCTAssertEqual(halfBits(65504), 0x7BFF)
        XCTAssertEqual(halfBits(1e6), 0x7C00)
        XCTAssertEqual(halfBits(Float(pow(2.0, -24.0))), 0x0001)
        XCTAssertEqual(halfBits(0.333333333), 0x3555)
        XCTAssertEqual(halfBits(.infinity), 0x7C00)
    }

    func testPlanSummary() {
        XCTAssertTrue(PlanSummary.summarize([]) == (.unknown, nil))
        let (d1, c1) = PlanSummary.summarize([(.ane, 0.7), (.ane, 0.3), (.cpu, 0)])
        XCTAssertEqual(d1, .ane)
        XCTAssertEqual(c1, PlannedCost(ane: 1, gpu: 0, cpu: 0))
        let (d2, c2) = PlanSummary.summarize([(.ane, 0.9), (.cpu, 0.1)])
        XCTAssertEqual(d2, .mixed)
        XCTAssertEqual(c2!.ane, 0.9, accuracy: 1e-12)
        XCTAssertEqual(c2!.cpu, 0.1, accuracy: 1e-12)
        let (d3, c3) = PlanSummary.summarize([(.gpu, nil), (.gpu, nil)])
        XCTAssertEqual(d3, .gpu)
        XCTAssertNil(c3)
    }

    func testHardwareIdMatching() throws {
        let m = try exampleManifest()
        XCTAssertTrue(m.accepts(hardwareId: "iPhone12,1"))
        XCTAssertFalse(m.accepts(hardwareId: "iPhone12,3"))
        XCTAssertTrue(HardwareID.matches(pattern: "Mac*", "Mac14,2"))
        XCTAssertTrue(HardwareID.matches(pattern: "Mac*", "MacBookPro18,3"))
        XCTAssertFalse(HardwareID.matches(pattern: "Mac*", "iPhone12,1"))
        XCTAssertEqual(HardwareID.catalog["iphonexsmax"], ["iPhone11,4", "iPhone11,6"])
    }
}
