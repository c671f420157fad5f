#if canImport(Glibc)
import Glibc
#endif

// The one reading of CLOCK_MONOTONIC for the agent, the probe, the workloads and the benchmarks.
// Raw nanoseconds rather than `ContinuousClock`, and inlinable into the callers: the hot path and
// the spin loops read it millions of times a second. It is the clock `bpf_ktime_get_ns()` reads,
// so user-space times and the kernel's event times can be subtracted.

/// CLOCK_MONOTONIC in nanoseconds since an arbitrary fixed point.
@inlinable @inline(__always)
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Sleeps until CLOCK_MONOTONIC reads `deadline` (ns): absolute, so repeated sleeps do not drift by
/// the time each step takes. Returns early when a signal handler interrupts the sleep; callers
/// re-check their conditions (and the clock) and sleep again.
@inlinable
public func sleepUntil(monotonic deadline: UInt64) {
    var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
}
