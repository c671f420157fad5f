#if canImport(Glibc)
import Glibc
#endif

/// Takes SIGINT/SIGTERM synchronously: the signals are blocked in every
/// thread (create this before starting any), and `wait` returns when one
/// arrives or the time is up. No async signal handler, so shutdown runs as
/// ordinary code: stop the consumer, read the maps, detach, unpin.
struct SignalWaiter {
    private var set = sigset_t()

    init(signals: [Int32]) {
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for a signal, or `seconds` (nil: forever). Returns the signal, or nil on timeout.
    func wait(seconds: Double?) -> Int32? {
        var set = self.set
        guard let seconds else {
            var signal: Int32 = 0
            sigwait(&set, &signal)
            return signal
        }
        let deadline = monotonicSeconds() + seconds
        while true {
            let left = deadline - monotonicSeconds()
            if left <= 0 { return nil }
            var timeout = timespec(tv_sec: Int(left), tv_nsec: Int((left - Double(Int(left))) * 1e9))
            let s = sigtimedwait(&set, nil, &timeout)
            if s > 0 { return s }
            if errno != EINTR && errno != EAGAIN { return nil }
        }
    }

    private func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
