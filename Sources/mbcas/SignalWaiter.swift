import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Waits for SIGINT/SIGTERM (or a deadline) so shutdown runs as ordinary
/// code: stop the consumer, read the maps, detach, unpin.
///
/// The signals' default action is replaced by dispatch sources: whichever
/// thread the kernel picks, the process is never killed mid-way with its
/// pins left behind.
final class SignalWaiter: @unchecked Sendable {
    // @unchecked: `received` is written once on the queue, read after the semaphore.
    private let semaphore = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "mbcas.signals")
    private var sources: [DispatchSourceSignal] = []
    private var received: Int32?

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [unowned self] in
                if self.received == nil {
                    self.received = number
                    self.semaphore.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal has arrived (for loops that check between steps).
    var isSet: Bool { queue.sync { received != nil } }

    /// Waits for a signal, or `seconds` (nil: forever). Returns the signal, or nil on timeout.
    func wait(seconds: Double?) -> Int32? {
        if let seconds {
            guard semaphore.wait(timeout: .now() + seconds) == .success else { return nil }
        } else {
            semaphore.wait()
        }
        return queue.sync { received }
    }
}
