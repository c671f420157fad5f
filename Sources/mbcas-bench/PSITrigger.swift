#if canImport(Glibc)
import Glibc
#endif
import KernelProbe
import MonotonicTime
import Synchronization

/// The kernel's own push for CPU pressure: a PSI trigger (`some <threshold_us> <window_us>`
/// written to a `cpu.pressure` file), waited on with poll() for POLLPRI on its own thread.
///
/// What the kernel accepts (kernel/sched/psi.c, Documentation/accounting/psi.rst):
/// - a window of 500 ms to 10 s, but only whole multiples of 2 s for a writer without
///   CAP_SYS_RESOURCE (root inside a container often lacks it). Those "unprivileged" triggers are
///   checked by the 2 s averaging work, not by the real-time poller, so they fire up to ~2 s late;
/// - a threshold of at least 1 µs and at most the window;
/// - at most one event per window.
///
/// ``arm(path:thresholdMicros:)`` tries the shortest window first and keeps the first accepted.
final class PSITrigger: Sendable {
    /// The pressure file the trigger is on.
    let path: String
    /// Stall time within the window that fires the trigger, µs.
    let thresholdMicros: UInt32
    /// The window the kernel accepted, µs.
    let windowMicros: UInt32
    /// Why longer windows were needed (empty when the first one was accepted).
    let refusals: [String]
    private let fd: Int32
    private let events = Mutex<[UInt64]>([])
    private let loop = WatchLoop()

    /// Windows tried in order: the kernel minimum, then the shortest one allowed without
    /// CAP_SYS_RESOURCE.
    static let windowsToTry: [UInt32] = [500_000, 2_000_000]

    private init(path: String, fd: Int32, thresholdMicros: UInt32, windowMicros: UInt32, refusals: [String]) {
        self.path = path
        self.fd = fd
        self.thresholdMicros = thresholdMicros
        self.windowMicros = windowMicros
        self.refusals = refusals
    }

    deinit { close(fd) }

    /// Arms a trigger on `path` with the shortest window the kernel accepts.
    /// - Throws: ``BenchError`` naming the file and each refusal.
    static func arm(path: String, thresholdMicros: UInt32) throws(BenchError) -> PSITrigger {
        var refusals: [String] = []
        for window in windowsToTry {
            let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                throw BenchError("cannot open \(path) for a PSI trigger: \(String(cString: strerror(errno))) (kernel without CONFIG_PSI, or psi=0)")
            }
            // The kernel overwrites the last byte written with a NUL: send one, or it eats a digit.
            let spec = "some \(thresholdMicros) \(window)"
            let bytes = Array(spec.utf8) + [0]
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n == bytes.count {
                return PSITrigger(path: path, fd: fd, thresholdMicros: thresholdMicros, windowMicros: window,
                                  refusals: refusals)
            }
            refusals.append("'\(spec)': \(String(cString: strerror(errno)))")
            close(fd)
        }
        throw BenchError("the kernel refused every PSI trigger on \(path): \(refusals.joined(separator: "; "))")
    }

    /// Waits for events on a new thread until ``stop()``.
    func start() throws(BenchError) {
        try loop.start(name: "psi-trigger", state: pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)) { [self] pfd in
            pfd.revents = 0
            // A short timeout only so that stop() is noticed; events wake the poll at once.
            let n = poll(&pfd, 1, 100)
            let now = monotonicNanos()
            if n > 0 {
                if pfd.revents & Int16(POLLERR) != 0 { return false }  // the trigger's file is gone
                if pfd.revents & Int16(POLLPRI) != 0 { events.withLock { $0.append(now) } }
            }
            return true
        }
    }

    /// CPU time the waiting thread has used (ns); read it before ``stop()``.
    var cpuNanos: UInt64? { loop.cpuNanos }

    /// Asks the thread to end and waits for it.
    func stop() { loop.stop() }

    /// When each event arrived (CLOCK_MONOTONIC ns), in order.
    var allEvents: [UInt64] { events.withLock { $0 } }
}
