/// One change to the store, as a watch reports it.
public struct StoredEvent: Sendable {
    public enum Kind: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED" }
    /// The global revision the change produced.
    public var revision: Int64
    public var type: ResourceType
    public var kind: Kind
    /// The object after the change (for DELETED: as it was deleted, with the deletion's revision).
    public var object: JSON
    /// The object before the change, so a selector-filtered watch can turn a MODIFIED that
    /// leaves (or enters) the selection into a DELETED (or ADDED), as the real watch cache does.
    public var previous: JSON?
}

/// The retained event log, the fixture's stand-in for etcd's revision history.
///
/// Only the last `capacity` events are kept; a watch or paginated list from a revision older
/// than what was dropped is answered `410 Expired`, as after an etcd compaction. Keep the
/// capacity small in tests to reach that path with a few writes.
struct History: Sendable {
    let capacity: Int
    private(set) var events: [StoredEvent] = []
    /// The newest revision no longer retained: 0 until something is dropped.
    private(set) var compactedRevision: Int64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    mutating func append(_ event: StoredEvent) {
        events.append(event)
        if events.count > capacity {
            let dropped = events.removeFirst()
            compactedRevision = dropped.revision
        }
    }

    /// The events after `revision`, or `nil` if some of them were dropped.
    func events(after revision: Int64) -> [StoredEvent]? {
        guard revision >= compactedRevision else { return nil }
        return events.filter { $0.revision > revision }
    }
}
