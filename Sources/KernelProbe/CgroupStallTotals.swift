/// One cgroup's cumulative stall statistics, summed over CPUs.
public struct CgroupStallTotals: Sendable, Equatable {
    /// The cgroup id (directory inode); 0 is a root autogroup.
    public var cgroupID: UInt64
    /// Time on CPU.
    public var runNanos: UInt64 = 0
    /// Runnable but not running (throttled time excluded).
    public var waitNanos: UInt64 = 0
    /// Throttle episodes that have ended, summed over CPU run queues.
    public var throttledNanos: UInt64 = 0
    /// Episodes still open when the maps were read, up to that moment.
    public var openThrottledNanos: UInt64 = 0
    /// Throttle episodes started (one per CPU run queue per episode).
    public var throttleEpisodes: UInt64 = 0
    /// Times a task of the cgroup was switched in.
    public var switches: UInt64 = 0
    /// Run-queue-wait events pushed.
    public var waitEvents: UInt64 = 0

    /// Creates empty totals for a cgroup.
    public init(cgroupID: UInt64) { self.cgroupID = cgroupID }

    /// Throttled time including episodes still in progress: what the
    /// kernel's `cpu.stat` reports at the same moment.
    public var throttledIncludingOpenNanos: UInt64 {
        throttledNanos + openThrottledNanos
    }

    /// The change from an earlier reading of the same cgroup. Throttled time
    /// is compared including open episodes, so an episode in progress at
    /// either reading is counted exactly once. An open episode's time is
    /// provisional: one a restarted probe discarded can make the later
    /// reading smaller, which counts as no throttling rather than wrapping.
    public func since(_ earlier: CgroupStallTotals) -> CgroupStallTotals {
        var d = CgroupStallTotals(cgroupID: cgroupID)
        d.runNanos = runNanos &- earlier.runNanos
        d.waitNanos = waitNanos &- earlier.waitNanos
        let (throttled, wrapped) = throttledIncludingOpenNanos
            .subtractingReportingOverflow(earlier.throttledIncludingOpenNanos)
        d.throttledNanos = wrapped ? 0 : throttled
        d.throttleEpisodes = throttleEpisodes &- earlier.throttleEpisodes
        d.switches = switches &- earlier.switches
        d.waitEvents = waitEvents &- earlier.waitEvents
        return d
    }
}

/// The probe's health counters, summed over CPUs.
public struct ProbeCounters: Sendable, Equatable {
    /// Ring-buffer records submitted.
    public var eventsPushed: UInt64 = 0
    /// Ring-buffer reserves that failed because the consumer fell behind.
    /// Nothing is lost: the cumulative map still has every nanosecond.
    public var ringBufferDrops: UInt64 = 0
    /// Updates lost because a map was full.
    public var mapFull: UInt64 = 0

    /// Creates zeroed counters.
    public init() {}
}

/// Everything the cumulative maps held at one moment.
public struct ProbeSnapshot: Sendable {
    /// When the maps were read (CLOCK_MONOTONIC ns).
    public var takenAt: UInt64
    /// Per-cgroup totals, by cgroup id.
    public var cgroups: [UInt64: CgroupStallTotals]
    /// Probe health.
    public var counters: ProbeCounters
}
