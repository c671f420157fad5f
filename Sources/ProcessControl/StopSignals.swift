import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM (or other stop signals) as an event a command waits for, synchronously or
/// with `await`, so an interrupted run ends as ordinary code: the probe detached and unpinned, the
/// workload stopped, the cgroups removed, the server's connections closed.
///
/// The signals' default action is replaced by dispatch sources: whichever thread the kernel picks,
/// the process is never killed mid-way. Create it before starting any thread or binding any port,
/// so a signal sent as soon as the command says it is ready is not lost. (The agent and the
/// controller run under a ServiceLifecycle `ServiceGroup`, which handles its own signals.)
public final class StopSignals: @unchecked Sendable {
    // @unchecked: `received` and `waiters` are only touched on `queue`; `sources` only in init.
    private let queue = DispatchQueue(label: "mbcas.stop-signals")
    private let semaphore = DispatchSemaphore(value: 0)
    private var sources: [any DispatchSourceSignal] = []
    private var received: Int32?
    private var waiters: [CheckedContinuation<Int32, Never>] = []

    /// Catches `signals` from now on.
    public init(_ signals: [Int32] = [SIGINT, SIGTERM]) {
        queue.sync {
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { [weak self] in self?.deliver(number) }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// The first signal received, or nil (for loops that check between steps).
    public var caught: Int32? { queue.sync { received } }

    /// Waits for a signal, or `seconds` (nil: forever). Returns the first signal received, or nil
    /// on timeout; once one has arrived, returns it at once.
    @discardableResult
    public func wait(seconds: Double?) -> Int32? {
        if let caught { return caught }
        if let seconds {
            // Signalled again after a wake-up, so every later wait returns at once too.
            if semaphore.wait(timeout: .now() + seconds) == .success { semaphore.signal() }
        } else {
            semaphore.wait()
            semaphore.signal()
        }
        return caught
    }

    /// Suspends until the first signal; returns its number.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            queue.async { [self] in
                if let received {
                    continuation.resume(returning: received)
                } else {
                    waiters.append(continuation)
                }
            }
        }
    }

    /// The first signal: remembered, and every waiter woken. Runs on `queue`.
    private func deliver(_ number: Int32) {
        guard received == nil else { return }
        received = number
        semaphore.signal()
        for waiter in waiters { waiter.resume(returning: number) }
        waiters = []
    }
}
