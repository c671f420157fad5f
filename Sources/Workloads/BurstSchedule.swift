internal import Market

/// The bursty workload's schedule: bursts and gaps of random lengths drawn from a seeded generator.
///
/// An infinite sequence of ``WorkloadPhase`` (burst = busy, gap = idle), identical for identical
/// seeds. With uniform bursts of 150-600 ms and gaps of 200-900 ms each thread is busy about
/// 375 / (375 + 550) ≈ 41 % of the time on average, yet every burst asks for a full CPU per thread
/// for long enough (≥ 1.5 CFS periods) that a small limit throttles it.
public struct BurstSchedule: Sequence, IteratorProtocol, Sendable {
    /// Burst lengths, in ms (inclusive).
    public static let burstMillis: ClosedRange<UInt64> = 150...600
    /// Gap lengths, in ms (inclusive).
    public static let gapMillis: ClosedRange<UInt64> = 200...900

    /// The long-run busy fraction of one thread: mean burst over mean burst plus mean gap.
    public static var expectedDutyCycle: Double {
        let burst = Double(burstMillis.lowerBound + burstMillis.upperBound) / 2
        let gap = Double(gapMillis.lowerBound + gapMillis.upperBound) / 2
        return burst / (burst + gap)
    }

    private var random: SplitMix64

    /// The schedule for `seed`.
    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// The next burst and the gap after it; never nil.
    public mutating func next() -> WorkloadPhase? {
        // Lengths are drawn in whole ms so a schedule reads naturally when printed.
        let burst = random.next(in: Self.burstMillis)
        let gap = random.next(in: Self.gapMillis)
        return WorkloadPhase(busyNanos: burst * 1_000_000, idleNanos: gap * 1_000_000)
    }
}
