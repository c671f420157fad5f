/// The phases one workload thread runs, for any ``WorkloadKind``: an infinite sequence, the same for
/// the same kind and seed.
public struct WorkloadPattern: Sequence, IteratorProtocol, Sendable {
    /// Steady: busy fraction of each slice.
    public static let steadyDutyCycle = 0.4
    /// Steady: slice length, in ns. 10 ms is a tenth of the CFS period, so a limit below 40 % is hit
    /// within every period instead of once in a while.
    public static let steadySliceNanos: UInt64 = 10_000_000
    /// Idle: work per period, in ns.
    public static let idleBusyNanos: UInt64 = 1_000_000
    /// Idle: period, in ns.
    public static let idlePeriodNanos: UInt64 = 100_000_000
    /// Hog: length of each (all-busy) phase, in ns; only how often the thread starts a new phase.
    public static let hogPhaseNanos: UInt64 = 1_000_000_000

    private enum Source: Sendable {
        case repeating(WorkloadPhase)
        case bursts(BurstSchedule)
    }

    private var source: Source

    /// The pattern of `kind`; only `bursty` uses the seed.
    public init(kind: WorkloadKind, seed: UInt64) {
        switch kind {
        case .bursty:
            source = .bursts(BurstSchedule(seed: seed))
        case .steady:
            let busy = UInt64((Double(Self.steadySliceNanos) * Self.steadyDutyCycle).rounded())
            source = .repeating(WorkloadPhase(busyNanos: busy, idleNanos: Self.steadySliceNanos - busy))
        case .hog:
            source = .repeating(WorkloadPhase(busyNanos: Self.hogPhaseNanos, idleNanos: 0))
        case .idle:
            source = .repeating(
                WorkloadPhase(busyNanos: Self.idleBusyNanos, idleNanos: Self.idlePeriodNanos - Self.idleBusyNanos))
        }
    }

    /// The next phase; never nil.
    public mutating func next() -> WorkloadPhase? {
        switch source {
        case .repeating(let phase):
            return phase
        case .bursts(var schedule):
            let phase = schedule.next()
            source = .bursts(schedule)
            return phase
        }
    }
}
