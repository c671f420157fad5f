import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Turns SIGINT/SIGTERM into a flag the benchmark checks between steps, so an interrupted run
/// still stops its workload, detaches the probe and removes its cgroups.
///
/// The signals' default action is replaced by dispatch sources: whichever thread the kernel
/// picks, the process is not killed mid-way.
final class StopSignals: @unchecked Sendable {
    // @unchecked: `sources` is written in init only and kept alive for the handlers.
    private let received = Atomic<Int32>(0)
    private let semaphore = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "mbcas.bench.signals")
    private var sources: [DispatchSourceSignal] = []

    /// Catches `signals` from now on.
    init(_ signals: [Int32] = [SIGINT, SIGTERM]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [unowned self] in
                if received.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged {
                    semaphore.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, or nil.
    var caught: Int32? {
        let value = received.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Sleeps `seconds`, or less if a signal arrives; returns the signal, if any.
    @discardableResult
    func sleep(seconds: Double) -> Int32? {
        if let caught { return caught }
        if semaphore.wait(timeout: .now() + seconds) == .success { semaphore.signal() }
        return caught
    }
}
