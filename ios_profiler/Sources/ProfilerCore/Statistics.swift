import Foundation

/// Statistics used by the measurement protocol.
///
/// Percentiles use linear interpolation between closest ranks (Hyndman & Fan type 7, the
/// default of NumPy `percentile` and of R `quantile`): for sorted samples x[0..n-1] and
/// q in [0, 1], h = (n - 1) * q, result = x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)]).
/// The median is the q = 0.5 percentile. MAD is the raw median absolute deviation
/// median(|x - median(x)|), without the 1.4826 normal-consistency factor.
public enum Statistics {
    public static func percentile(_ samples: [Double], _ q: Double) -> Double {
        precondition(!samples.isEmpty, "percentile of empty sample")
        let x = samples.sorted()
        return percentile(sorted: x, q)
    }

    public static func percentile(sorted x: [Double], _ q: Double) -> Double {
        let h = Double(x.count - 1) * min(max(q, 0), 1)
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, x.count - 1)
        return x[lo] + (h - Double(lo)) * (x[hi] - x[lo])
    }

    public static func median(_ samples: [Double]) -> Double { percentile(samples, 0.5) }

    public static func mad(_ samples: [Double]) -> Double {
        let m = median(samples)
        return median(samples.map { abs($0 - m) })
    }

    /// Splits samples into kept and removed: a sample is an outlier when |x - median| > k * MAD
    /// (computed on all samples). Nothing is removed when k <= 0 or MAD == 0.
    public static func removeOutliers(_ samples: [Double], k: Double) -> (kept: [Double], removed: Int) {
        guard k > 0, samples.count > 2 else { return (samples, 0) }
        let m = median(samples)
        let d = mad(samples)
        guard d > 0 else { return (samples, 0) }
        let kept = samples.filter { abs($0 - m) <= k * d }
        return (kept, samples.count - kept.count)
    }

    /// Full summary of timed samples (ms). Outliers are removed first; all other figures
    /// describe the kept samples. total_time_s is the wall time of the timed phase, given by the caller.
    public static func summarize(_ samplesMs: [Double], outlierMadK k: Double, totalTimeS: Double) -> Stats {
        precondition(!samplesMs.isEmpty, "no samples")
        let (kept, removed) = removeOutliers(samplesMs, k: k)
        let sorted = kept.sorted()
        let med = percentile(sorted: sorted, 0.5)
        return Stats(
            medianMs: med,
            p10Ms: percentile(sorted: sorted, 0.10),
            p90Ms: percentile(sorted: sorted, 0.90),
            madMs: median(sorted.map { abs($0 - med) }),
            meanMs: sorted.reduce(0, +) / Double(sorted.count),
            minMs: sorted.first!,
            maxMs: sorted.last!,
            n: sorted.count,
            outliersRemoved: removed,
            totalTimeS: totalTimeS
        )
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014), the same on every platform.
/// state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
/// z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)   (all mod 2^64)
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform double in [0, 1): top 53 bits / 2^53.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}

public enum Ordering {
    /// Fisher–Yates with SplitMix64(seed): for i = n-1 down to 1, j = next() % (i + 1), swap(i, j).
    /// Exactly reproducible in Python with the same 64-bit arithmetic.
    public static func shuffled<T>(_ items: [T], seed: UInt64) -> [T] {
        var a = items
        var rng = SplitMix64(seed: seed)
        var i = a.count - 1
        while i > 0 {
            let j = Int(rng.next() % UInt64(i + 1))
            a.swapAt(i, j)
            i -= 1
        }
        return a
    }

    /// Manifest order, or the seeded shuffle of it when the protocol asks for shuffling.
    public static func order<T>(_ items: [T], protocol p: MeasurementProtocol) -> [T] {
        p.shuffle ? shuffled(items, seed: p.seed) : items
    }
}

/// 64-bit FNV-1a of a string's UTF-8 bytes (used to derive per-entry seeds).
public func fnv1a64(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}

/// IEEE 754 binary32 -> binary16 bit pattern (round to nearest even), for fp16 inputs on
/// platforms without a usable Float16 type (Intel Macs).
public func halfBits(_ value: Float) -> UInt16 {
    let f = value.bitPattern
    let sign = UInt16((f >> 16) & 0x8000)
    let exp = Int((f >> 23) & 0xFF)
    var mant = f & 0x7F_FFFF
    if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x200 : 0) } // inf / nan
    let e = exp - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 } // overflow -> inf
    if e <= 0 {
        if e < -10 { return sign } // underflow -> signed zero
        mant |= 0x80_0000
        let shift = UInt32(14 - e)
        var half = mant >> shift
        let rem = mant & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && (half & 1) == 1) { half += 1 }
        return sign | UInt16(half)
    }
    var half = UInt32(e << 10) | (mant >> 13)
    let rem = mant & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1) { half += 1 }
    if (half >> 10) >= 0x1F { return sign | 0x7C00 }
    return sign | UInt16(half)
}
