/// A small deterministic generator (SplitMix64): the simulators' noise, seeded fuzz tests,
/// reproducible benchmark problems and the demo's burst schedule. Pure, so it lives with the market.
///
/// Why not the standard library's `random(in:using:)`: its mapping from raw bits to a range is an
/// implementation detail that may change between Swift releases, and a seeded sequence must be the
/// same run after run, release after release. ``next(in:)`` is defined here instead.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator; the same seed gives the same sequence, and every seed, zero included,
    /// a full-period one.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    /// Uniform in [−1, 1].
    public mutating func symmetric() -> Double {
        Double(next() >> 11) / Double(1 << 53) * 2 - 1
    }

    /// A value in `range` by multiply-high (Lemire's map without rejection); the bias, at most
    /// span / 2^64, is irrelevant for spans of a few hundred milliseconds.
    public mutating func next(in range: ClosedRange<UInt64>) -> UInt64 {
        let span = range.upperBound - range.lowerBound &+ 1
        if span == 0 { return next() }  // the full 64-bit range
        return range.lowerBound + next().multipliedFullWidth(by: span).high
    }
}
