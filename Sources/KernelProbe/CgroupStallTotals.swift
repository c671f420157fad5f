/// One cgroup's cumulative stall statistics, summed over CPUs.
public struct CgroupStallTotals: Sendable, Equatable {
    /// The cgroup id (directory inode); 0 is a root autogroup.
    public var cgroupID: UInt64
    /// Time on CPU: the growth of its tasks' `se.sum_exec_runtime` (/proc/<pid>/schedstat's first field).
    public var runNanos: UInt64 = 0
    /// Runnable but not running: the growth of its tasks' `sched_info.run_delay` (schedstat's second
    /// field), except the delay of a task from a throttle to its next run, which is throttling.
    public var waitNanos: UInt64 = 0
    /// The kernel's throttled time (cpu.stat `throttled_time` / `throttled_usec`), up to the last
    /// throttle episode that ended.
    public var throttledNanos: UInt64 = 0
    /// Episodes still open when the maps were read, up to that moment: the probe's own running
    /// estimate (from the switch-out that started each), which the kernel counts only once the
    /// episode ends.
    public var openThrottledNanos: UInt64 = 0
    /// Periods in which the kernel throttled the group (cpu.stat `nr_throttled`), up to the last
    /// throttle episode that ended (the kernel counts a period at the next period's start).
    public var throttleEpisodes: UInt64 = 0
    /// Times a task of the cgroup was switched in.
    public var switches: UInt64 = 0

    /// Creates empty totals for a cgroup.
    public init(cgroupID: UInt64) { self.cgroupID = cgroupID }

    /// Throttled time including episodes still in progress: the kernel's ended ones plus the
    /// probe's estimate of the open ones. Ahead of cpu.stat, which counts an episode when it
    /// ends; for a live view (`mbcas top`, the agent's rounds).
    public var throttledIncludingOpenNanos: UInt64 {
        throttledNanos + openThrottledNanos
    }

    /// The change from an earlier reading of the same cgroup, in the kernel's figures: what
    /// cpu.stat and schedstat grew by between the two readings (episodes still open at either
    /// reading are left to the reading after they end). Every figure only grows, except when
    /// user space freed the cgroup's entry in between; that counts as zero rather than wrapping.
    public func since(_ earlier: CgroupStallTotals) -> CgroupStallTotals {
        func growth(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : 0 }
        var d = CgroupStallTotals(cgroupID: cgroupID)
        d.runNanos = growth(runNanos, earlier.runNanos)
        d.waitNanos = growth(waitNanos, earlier.waitNanos)
        d.throttledNanos = growth(throttledNanos, earlier.throttledNanos)
        d.throttleEpisodes = growth(throttleEpisodes, earlier.throttleEpisodes)
        d.switches = growth(switches, earlier.switches)
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
