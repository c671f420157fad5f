/// A pod's cumulative accounting as the kernel keeps it (cpu.stat and schedstat): what a policy
/// may read. All values only grow.
public struct PodCounters: Sendable, Hashable {
    /// CPU time used, CPU-nanoseconds (cpu.stat `usage_usec`).
    public var usageNanos: Double = 0
    /// Wall time spent throttled, nanoseconds (cpu.stat `throttled_usec`).
    public var throttledNanos: Double = 0
    /// How many times the pod was throttled (cpu.stat `nr_throttled`).
    public var throttleCount: Int = 0
    /// Time its runnable threads waited for a CPU, summed over threads, nanoseconds (schedstat).
    public var waitNanos: Double = 0
    /// Times one of its tasks was switched in (schedstat `pcount`; fractional in the fluid model).
    public var switches: Double = 0

    /// Creates zeroed counters.
    public init() {}
}

/// What the simulator knows about a pod beyond the kernel's counters: for the metrics only,
/// never shown to a policy. All values only grow.
public struct PodLedger: Sendable, Hashable {
    /// Work that arrived, CPU-nanoseconds (the trace's offered load integrated over time).
    public var offeredNanos: Double = 0
    /// CPU granted by the limit, CPU-nanoseconds: ∫ min(limit, node) dt (the node for no limit).
    public var allocatedNanos: Double = 0

    /// Creates a zeroed ledger.
    public init() {}
}
