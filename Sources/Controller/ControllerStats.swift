import Synchronization

/// Counters of what the controller did, for its health checks, log lines and tests (which
/// assert on the API's state, and on these to prove that a replica did *not* write).
public final class ControllerStats: Sendable {
    private let reconcileCount = Atomic<Int>(0)
    private let resizeCount = Atomic<Int>(0)
    private let statusWriteCount = Atomic<Int>(0)
    private let eventCount = Atomic<Int>(0)
    private let errorCount = Atomic<Int>(0)
    private let syncedFlag = Atomic<Bool>(false)
    private let leadingFlag = Atomic<Bool>(false)

    public init() {}

    /// Reconciles run (each pass over one key).
    public var reconciles: Int { reconcileCount.load(ordering: .relaxed) }
    /// PATCHes of `pods/resize` the API accepted.
    public var resizes: Int { resizeCount.load(ordering: .relaxed) }
    /// PodAllocation status writes the API accepted.
    public var statusWrites: Int { statusWriteCount.load(ordering: .relaxed) }
    /// Events created.
    public var events: Int { eventCount.load(ordering: .relaxed) }
    /// Reconciles that failed and were queued again with backoff.
    public var errors: Int { errorCount.load(ordering: .relaxed) }
    /// Whether the caches hold the whole collections (only while leading).
    public var synced: Bool { syncedFlag.load(ordering: .acquiring) }
    /// Whether this replica holds the Lease (always true without leader election).
    public var leading: Bool { leadingFlag.load(ordering: .acquiring) }
    /// Every write this replica made: resizes, status writes and events.
    public var writes: Int { resizes + statusWrites + events }

    func countReconcile() { reconcileCount.add(1, ordering: .relaxed) }
    func countResize() { resizeCount.add(1, ordering: .relaxed) }
    func countStatusWrite() { statusWriteCount.add(1, ordering: .relaxed) }
    func countEvent() { eventCount.add(1, ordering: .relaxed) }
    func countError() { errorCount.add(1, ordering: .relaxed) }
    func setSynced(_ value: Bool) { syncedFlag.store(value, ordering: .releasing) }
    func setLeading(_ value: Bool) { leadingFlag.store(value, ordering: .releasing) }
}
