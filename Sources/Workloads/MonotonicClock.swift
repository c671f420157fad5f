internal import Glibc

/// `CLOCK_MONOTONIC` in ns, and sleeping until a point on it.
///
/// Raw integers rather than `Duration`/`ContinuousClock` because the spin loop reads the clock
/// millions of times per second: a vDSO call and an integer compare is all it should cost.
enum MonotonicClock {
    /// Now, in ns since an arbitrary fixed point.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Sleeps until `deadline` (absolute, so repeated sleeps do not drift). Returns early when a
    /// signal interrupts the sleep; callers re-check their conditions and sleep again.
    static func sleep(until deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil)
    }

    /// Seconds as ns, saturating instead of overflowing for absurd values.
    static func nanos(seconds: Double) -> UInt64 {
        let nanos = seconds * 1e9
        return nanos >= Double(UInt64.max) ? .max : UInt64(max(nanos, 0))
    }
}
