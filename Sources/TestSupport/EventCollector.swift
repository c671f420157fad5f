import KernelProbe
import Synchronization

/// Collects pushed events from the consumer thread, for assertions.
public final class EventCollector: Sendable {
    private let events = Mutex<[StallEvent]>([])

    public init() {}

    /// Called on the consumer thread.
    public func append(_ event: StallEvent) {
        events.withLock { $0.append(event) }
    }

    /// Everything collected so far.
    public var all: [StallEvent] { events.withLock { $0 } }

    /// The events of one kind for one cgroup.
    public func count(_ kind: StallEvent.Kind, cgroupID: UInt64) -> Int {
        events.withLock { $0.filter { $0.kind == kind && $0.cgroupID == cgroupID }.count }
    }
}
