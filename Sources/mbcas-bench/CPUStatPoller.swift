#if canImport(Glibc)
import Glibc
#endif
import KernelProbe
import MonotonicTime
import Synchronization

/// The polling baseline: reads a cgroup's `cpu.stat` every `interval` on its own thread, as a
/// polling agent does (MBCAS's Go agent polls every second), and notes each poll that finds
/// `nr_throttled` or the throttled time (`throttled_time` on v1, `throttled_usec` on v2) higher
/// than the poll before: the best a poller can do, since a short episode ended early by runtime
/// handed back within the period raises the time but not the count.
///
/// Each poll opens, reads and closes the file like Go's `os.ReadFile`, and scans only for those
/// two keys: the cheapest honest poller, so its CPU figure is a lower bound.
final class CPUStatPoller: Sendable {
    /// One poll that saw new throttling.
    struct Detection: Sendable, Equatable {
        /// When the poll's read returned (CLOCK_MONOTONIC ns).
        var at: UInt64
        /// How much `nr_throttled` went up since the previous poll.
        var newThrottles: UInt64
    }

    /// The two throttling counters of one read.
    struct Counters: Sendable, Equatable {
        var nrThrottled: UInt64
        var throttledTime: UInt64
    }

    /// The method's name in the report (`poll-1s`, ...).
    let method: String
    /// The polling period, nanoseconds.
    let intervalNanos: UInt64
    private let path: String
    private let detections = Mutex<[Detection]>([])
    private let state = Mutex<(polls: UInt64, failures: UInt64, lastError: String?)>((0, 0, nil))
    private let loop = WatchLoop()

    /// A poller of `cpuStatPath`; nothing is read until ``start()``.
    init(method: String, cpuStatPath: String, intervalNanos: UInt64) {
        self.method = method
        self.path = cpuStatPath
        self.intervalNanos = intervalNanos
    }

    /// Reads the baseline values, then polls on a new thread until ``stop()``.
    /// - Throws: ``BenchError`` when the file cannot be read or lacks the counters.
    func start() throws(BenchError) {
        guard let baseline = Self.readCounters(path) else {
            throw BenchError("\(method): cannot read nr_throttled and throttled_time/throttled_usec from \(path): \(String(cString: strerror(errno)))")
        }
        try loop.start(name: method, state: (last: baseline, next: monotonicNanos() + intervalNanos)) {
            [self] poller in
            while monotonicNanos() < poller.next { sleepUntil(monotonic: poller.next) }
            if loop.isStopping { return false }
            let value = Self.readCounters(path)
            let now = monotonicNanos()
            if let value {
                if value.nrThrottled > poller.last.nrThrottled || value.throttledTime > poller.last.throttledTime {
                    let new = value.nrThrottled &- poller.last.nrThrottled
                    detections.withLock { $0.append(Detection(at: now, newThrottles: new)) }
                }
                poller.last = value
                state.withLock { $0.polls += 1 }
            } else {
                let why = String(cString: strerror(errno))
                state.withLock { $0.failures += 1; $0.lastError = why }
            }
            // The next tick of a fixed grid: a slow poll skips ticks instead of shifting the phase.
            poller.next += intervalNanos
            if poller.next <= now { poller.next += ((now - poller.next) / intervalNanos + 1) * intervalNanos }
            return true
        }
    }

    /// CPU time the polling thread has used (ns); read it before ``stop()``.
    var cpuNanos: UInt64? { loop.cpuNanos }

    /// Asks the thread to end and waits for it (at most one interval).
    func stop() { loop.stop() }

    /// Every poll that saw new throttling, in time order.
    var allDetections: [Detection] { detections.withLock { $0 } }

    /// Polls done, polls that failed, and the last failure's reason.
    var counts: (polls: UInt64, failures: UInt64, lastError: String?) { state.withLock { $0 } }

    /// The throttling counters of a `cpu.stat` file, or nil with errno set (EINVAL: keys missing).
    static func readCounters(_ path: String) -> Counters? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> Counters? in
            let n = read(fd, buffer.baseAddress, buffer.count)
            guard n > 0 else { return nil }
            let text = UnsafeBufferPointer(rebasing: buffer[..<n])
            guard let count = value(of: nrThrottledKey, in: text),
                  let time = value(of: throttledTimeKey, in: text) ?? value(of: throttledMicrosKey, in: text) else {
                errno = EINVAL
                return nil
            }
            return Counters(nrThrottled: count, throttledTime: time)
        }
    }

    private static let nrThrottledKey: [UInt8] = Array("nr_throttled ".utf8)
    private static let throttledTimeKey: [UInt8] = Array("throttled_time ".utf8)
    private static let throttledMicrosKey: [UInt8] = Array("throttled_usec ".utf8)

    /// The number after `key` at the start of a line; no allocation.
    static func value(of key: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var i = 0
        while i < bytes.count {
            // i is at the start of a line.
            if bytes.count - i > key.count, (0..<key.count).allSatisfy({ bytes[i + $0] == key[$0] }) {
                var value: UInt64 = 0
                var j = i + key.count
                var digits = 0
                while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57 {
                    value = value &* 10 &+ UInt64(bytes[j] - 48)
                    j += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            while i < bytes.count, bytes[i] != 10 { i += 1 }
            i += 1
        }
        return nil
    }
}
