internal import MonotonicTime
internal import Synchronization

/// The two things a workload thread does: burn CPU until a deadline, and sleep until one; both end
/// early once `stop` is set.
enum SpinLoop {
    /// Longest uninterrupted sleep: bounds how long a stop request waits for a sleeping thread (a
    /// bursty gap lasts up to 900 ms), at the cost of a wake-up every 20 ms, which is nothing.
    static let sleepChunkNanos: UInt64 = 20_000_000

    /// Spins until `deadline` or `stop`, returning a value derived from every iteration.
    ///
    /// The xorshift steps are a non-linear recurrence the optimiser cannot fold into a closed form,
    /// and the caller publishes the result, so the loop cannot be removed; the clock is read every 256
    /// steps (well under a microsecond) so the deadline is met to within a microsecond.
    @inline(never)
    static func spin(until deadline: UInt64, seed: UInt64, stop: borrowing Atomic<Bool>) -> UInt64 {
        var x = seed | 1
        while monotonicNanos() < deadline && !stop.load(ordering: .relaxed) {
            for _ in 0..<256 {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
            }
        }
        return x
    }

    /// Sleeps until `deadline` or `stop`, in chunks of at most ``sleepChunkNanos``.
    static func sleep(until deadline: UInt64, stop: borrowing Atomic<Bool>) {
        while !stop.load(ordering: .relaxed) {
            let now = monotonicNanos()
            if now >= deadline { return }
            sleepUntil(monotonic: min(deadline, now + sleepChunkNanos))
        }
    }
}
