public import Prometheus
import Synchronization

/// A Prometheus counter that follows a cumulative count kept by the kernel (a BPF map), by the
/// difference from the last total seen. A total below the last one means the kernel's count
/// restarted (the maps were recreated): all of it is new, as Prometheus treats a counter reset.
final class KernelTotalCounter: Sendable {
    let counter: Counter
    private let lastTotal = Mutex<UInt64?>(nil)

    init(_ counter: Counter) { self.counter = counter }

    /// Brings the counter up to `total`.
    func observe(total: UInt64) {
        let increase = lastTotal.withLock { last -> UInt64 in
            defer { last = total }
            guard let previous = last else { return total }
            return total >= previous ? total - previous : total
        }
        if increase > 0 { counter.increment(by: Int64(clamping: increase)) }
    }
}
