import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as an awaitable event, so the server shuts down as ordinary code (closing
/// its connections) instead of dying where the signal lands. Installed before the server binds,
/// so a signal sent as soon as "listening on" appears is not lost.
final class TerminationSignals: @unchecked Sendable {
    // @unchecked: `sources`, `received` and `waiter` are only touched on `queue`.
    private let queue = DispatchQueue(label: "mbcas-test-apiserver.signals")
    private var sources: [any DispatchSourceSignal] = []
    private var received: Int32?
    private var waiter: CheckedContinuation<Int32, Never>?

    init(_ signals: [Int32] = [SIGINT, SIGTERM]) {
        queue.sync {
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                // Strong on purpose: the sources and this object live as long as the process.
                source.setEventHandler { [self] in
                    guard received == nil else { return }
                    received = number
                    waiter?.resume(returning: number)
                    waiter = nil
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Suspends until the first signal; returns its number.
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            queue.async { [self] in
                if let received {
                    continuation.resume(returning: received)
                } else {
                    waiter = continuation
                }
            }
        }
    }
}
