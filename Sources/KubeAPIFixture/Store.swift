import Foundation
import Synchronization

/// Which part of an object a write addresses.
public enum Subresource: String, Sendable {
    case main = "", status, resize
}

/// Options of a LIST.
struct ListOptions: Sendable {
    var limit: Int?
    var continueToken: String?
    var resourceVersion: String?
    var labelSelector: LabelSelector
    var fieldSelector: FieldSelector
}

/// Receives a watch's events, in revision order; called with the store's lock held, so it must
/// only hand the event on (e.g. to an event loop), never block or call back into the store.
typealias WatchSink = @Sendable (WatchMessage) -> Void

/// What a watch stream carries.
enum WatchMessage: Sendable {
    case event(String, JSON)
    case bookmark(Int64)
}

/// The in-memory object store: one global, monotonically increasing revision (as etcd's) shared
/// by every type, an event log for watches, and the write rules of the real API server.
public final class ObjectStore: Sendable {
    struct Watcher: Sendable {
        var type: ResourceType
        var namespace: String?
        var labels: LabelSelector
        var fields: FieldSelector
        var sink: WatchSink

        func matches(_ object: JSON) -> Bool {
            if let namespace, object[path: ["metadata", "namespace"]]?.string != namespace { return false }
            return labels.matches(object) && fields.matches(object)
        }
    }

    struct State: Sendable {
        var revision: Int64 = 0
        /// Objects per type, keyed `namespace/name` (sorted iteration gives etcd's key order).
        var objects: [ResourceType: [String: JSON]] = [:]
        var history: History
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
    }

    private let state: Mutex<State>

    /// Creates an empty store.
    /// - Parameter historyCapacity: How many events the log keeps; older revisions are expired.
    public init(historyCapacity: Int = 1000) {
        state = Mutex(State(history: History(capacity: historyCapacity)))
    }

    /// The current global revision.
    public var revision: Int64 { state.withLock { $0.revision } }

    static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    // MARK: - Reads

    /// GET one object; `namespace` is "" for a cluster-scoped type.
    public func get(_ type: ResourceType, namespace: String, name: String) throws(StatusError) -> JSON {
        let object = state.withLock { $0.objects[type]?[Self.key(namespace, name)] }
        guard let object else { throw StatusError.notFound(type, name: name) }
        return object
    }

    /// LIST, in key order, with `limit`/`continue` pagination.
    ///
    /// A continue token carries the list's revision and the last key served. Later pages come
    /// from the current state after that key (not a true snapshot at the revision, which would
    /// need MVCC); the list's `resourceVersion` stays the first page's, as on the real server.
    /// A token or an explicit `resourceVersion` (with `limit`) older than the retained history
    /// is `410 Expired`, the real server's answer after a compaction.
    func list(_ type: ResourceType, namespace: String?, options: ListOptions) throws(StatusError) -> JSON {
        var startAfter: String?
        var listRevision: Int64?
        if let token = options.continueToken, !token.isEmpty {
            guard let data = Data(base64Encoded: token), let decoded = try? JSON.parse(data),
                  let rv = decoded["rv"]?.int, let key = decoded["start"]?.string else {
                throw StatusError.badRequest("continue key is not valid: invalid token")
            }
            startAfter = key
            listRevision = rv
        }
        let result: Result<JSON, StatusError> = state.withLock { state in
            if let rv = listRevision, rv < state.history.compactedRevision {
                return .failure(.expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."))
            }
            if options.limit != nil, let text = options.resourceVersion, let rv = Int64(text), rv != 0,
               rv < state.history.compactedRevision {
                return .failure(.expired("too old resource version: \(rv) (\(state.history.compactedRevision))"))
            }
            let revision = listRevision ?? state.revision
            let all = (state.objects[type] ?? [:]).sorted { $0.key < $1.key }
            var items: [JSON] = []
            var lastKey: String?
            var remaining = 0
            for (key, object) in all {
                if let startAfter, key <= startAfter { continue }
                if let namespace, !key.hasPrefix(namespace + "/") { continue }
                guard options.labelSelector.matches(object), options.fieldSelector.matches(object) else { continue }
                if let limit = options.limit, limit > 0, items.count >= limit {
                    remaining += 1
                    continue
                }
                items.append(object)
                lastKey = key
            }
            var metadata: JSON = ["resourceVersion": .string(String(revision))]
            if remaining > 0, let lastKey {
                let token: JSON = ["rv": .int(revision), "start": .string(lastKey)]
                metadata["continue"] = .string(token.encoded().base64EncodedString())
                // As on the real server: unknown (left out) when selectors filter the list.
                if options.labelSelector.requirements.isEmpty, options.fieldSelector.requirements.isEmpty {
                    metadata["remainingItemCount"] = .int(Int64(remaining))
                }
            }
            return .success(["kind": .string(type.kind + "List"), "apiVersion": .string(type.apiVersion),
                             "metadata": metadata, "items": .array(items)])
        }
        return try result.get()
    }

    // MARK: - Writes

    /// CREATE: sets uid, creationTimestamp, resourceVersion, generation 1.
    public func create(_ type: ResourceType, namespace: String, object input: JSON) throws(StatusError) -> JSON {
        guard case .object = input else { throw StatusError.badRequest("the body must be a JSON object") }
        var object = input
        var name = object[path: ["metadata", "name"]]?.string ?? ""
        if name.isEmpty, let prefix = object[path: ["metadata", "generateName"]]?.string, !prefix.isEmpty {
            let suffix = String(UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(5))
            name = prefix + suffix
        }
        guard !name.isEmpty else {
            throw StatusError.invalid(type, name: "", causes: [.init(field: "metadata.name", message: "Required value: name or generateName is required", reason: "FieldValueRequired")])
        }
        if type.namespaced, let bodyNamespace = object[path: ["metadata", "namespace"]]?.string, !bodyNamespace.isEmpty,
           bodyNamespace != namespace {
            throw StatusError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        object["kind"] = .string(type.kind)
        object["apiVersion"] = .string(type.apiVersion)
        object[path: ["metadata", "name"]] = .string(name)
        // A cluster-scoped object's namespace is cleared (rest.BeforeCreate), whatever the body said.
        object[path: ["metadata", "namespace"]] = type.namespaced ? .string(namespace) : nil
        object[path: ["metadata", "uid"]] = .string(UUID().uuidString.lowercased())
        object[path: ["metadata", "creationTimestamp"]] = .string(Self.timestamp())
        object[path: ["metadata", "generation"]] = .int(1)
        if type == .pods {
            // ValidatePodCreate runs ValidateResourceRequirements too.
            let causes = Resize.requestsWithinLimits(object[path: ["spec", "containers"]]?.array ?? [])
            guard causes.isEmpty else { throw StatusError.invalid(.pods, name: name, causes: causes) }
            // As the pod strategy's PrepareForCreate: status is the server's, reset to Pending.
            object["status"] = ["phase": "Pending", "qosClass": .string(QoS.of(object).rawValue)]
        } else if type.hasStatus {
            object["status"] = nil
        }
        let result: Result<JSON, StatusError> = state.withLock { state in
            let key = Self.key(namespace, name)
            if state.objects[type]?[key] != nil { return .failure(.alreadyExists(type, name: name)) }
            state.revision += 1
            object[path: ["metadata", "resourceVersion"]] = .string(String(state.revision))
            state.objects[type, default: [:]][key] = object
            Self.record(&state, StoredEvent(revision: state.revision, type: type, kind: .added, object: object))
            return .success(object)
        }
        return try result.get()
    }

    /// UPDATE (PUT) of the main resource or a subresource.
    public func update(_ type: ResourceType, namespace: String, name: String, subresource: Subresource,
                object input: JSON) throws(StatusError) -> JSON {
        guard case .object = input else { throw StatusError.badRequest("the body must be a JSON object") }
        if let bodyName = input[path: ["metadata", "name"]]?.string, !bodyName.isEmpty, bodyName != name {
            throw StatusError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        return try modify(type, namespace: namespace, name: name, subresource: subresource) { _ in input }
    }

    /// Reads, transforms and writes one object under the lock, so a PATCH is atomic and a PUT's
    /// resourceVersion precondition is checked against the value it replaces.
    ///
    /// The proposed object's `metadata.resourceVersion`, when set, must equal the stored one
    /// (409 Conflict otherwise); when empty the write is unconditional, as the real server allows
    /// for these types. A write that changes nothing keeps the revision and emits no event.
    func modify(_ type: ResourceType, namespace: String, name: String, subresource: Subresource,
                transform: (JSON) throws(StatusError) -> JSON) throws(StatusError) -> JSON {
        let result: Result<JSON, StatusError> = state.withLock { state in
            let key = Self.key(namespace, name)
            guard let old = state.objects[type]?[key] else { return .failure(.notFound(type, name: name)) }
            let proposed: JSON
            do throws(StatusError) {
                proposed = try transform(old)
            } catch {
                return .failure(error)
            }
            if let rv = proposed[path: ["metadata", "resourceVersion"]]?.string, !rv.isEmpty,
               rv != old[path: ["metadata", "resourceVersion"]]?.string {
                return .failure(.conflict(type, name: name))
            }
            var new: JSON
            do throws(StatusError) {
                new = try Self.merge(type, old: old, proposed: proposed, subresource: subresource, name: name)
                if type == .pods, subresource == .resize {
                    let objects = state.objects
                    func inNamespace(_ type: ResourceType) -> [JSON] {
                        (objects[type] ?? [:]).filter { $0.key.hasPrefix(namespace + "/") }.map(\.value)
                    }
                    try ResizeAdmission.check(old: old, new: new, name: name, namespace: namespace,
                                              quotas: inNamespace(.resourceQuotas), limitRanges: inNamespace(.limitRanges),
                                              pods: inNamespace(.pods))
                }
            } catch {
                return .failure(error)
            }
            if new == old { return .success(old) }
            state.revision += 1
            new[path: ["metadata", "resourceVersion"]] = .string(String(state.revision))
            state.objects[type]?[key] = new
            Self.record(&state, StoredEvent(revision: state.revision, type: type, kind: .modified, object: new, previous: old))
            return .success(new)
        }
        return try result.get()
    }

    /// DELETE: returns the object as deleted, then removes its dependents (objects whose
    /// `ownerReferences` name its uid), recursively.
    ///
    /// The real garbage collector is asynchronous (background propagation); here dependents go
    /// at once, in the same critical section, each with its own revision and DELETED event.
    public func delete(_ type: ResourceType, namespace: String, name: String) throws(StatusError) -> JSON {
        let result: Result<JSON, StatusError> = state.withLock { state in
            guard let deleted = Self.remove(&state, type, key: Self.key(namespace, name)) else {
                return .failure(.notFound(type, name: name))
            }
            var pendingOwners = [deleted[path: ["metadata", "uid"]]?.string ?? ""]
            while let owner = pendingOwners.popLast() {
                for candidate in ResourceType.all {
                    let dependents = (state.objects[candidate] ?? [:]).filter { _, object in
                        (object[path: ["metadata", "ownerReferences"]]?.array ?? []).contains { $0["uid"]?.string == owner }
                    }
                    for key in dependents.keys.sorted() {
                        if let gone = Self.remove(&state, candidate, key: key) {
                            pendingOwners.append(gone[path: ["metadata", "uid"]]?.string ?? "")
                        }
                    }
                }
            }
            return .success(deleted)
        }
        return try result.get()
    }

    private static func remove(_ state: inout State, _ type: ResourceType, key: String) -> JSON? {
        guard var object = state.objects[type]?.removeValue(forKey: key) else { return nil }
        state.revision += 1
        // The DELETED event (and the DELETE response) carry the deletion's revision.
        object[path: ["metadata", "resourceVersion"]] = .string(String(state.revision))
        record(&state, StoredEvent(revision: state.revision, type: type, kind: .deleted, object: object))
        return object
    }

    // MARK: - Watch

    /// Registers a watch and sends its first events under the same lock, so none is missed or
    /// duplicated between the replay and the live stream.
    ///
    /// - No `resourceVersion` (or "0"): synthetic ADDED events for the current objects, then live.
    /// - A revision: the logged events after it, then live; one older than the retained log
    ///   gets a single ERROR event with a 410 Expired Status (the caller then ends the stream).
    /// - Returns: The watch's id for ``unwatch(_:)`` and ``bookmark(_:)``; `nil` when expired.
    func watch(_ type: ResourceType, namespace: String?, resourceVersion: String?, labels: LabelSelector,
               fields: FieldSelector, sink: @escaping WatchSink) throws(StatusError) -> Int? {
        var since: Int64?
        if let text = resourceVersion, !text.isEmpty, text != "0" {
            guard let rv = Int64(text) else { throw StatusError.badRequest("invalid resource version: \(text)") }
            since = rv
        }
        let watcher = Watcher(type: type, namespace: namespace, labels: labels, fields: fields, sink: sink)
        return state.withLock { state -> Int? in
            if let since {
                guard let replay = state.history.events(after: since) else {
                    let error = StatusError.expired("too old resource version: \(since) (\(state.history.compactedRevision))")
                    sink(.event("ERROR", error.status))
                    return nil
                }
                for event in replay where event.type == type {
                    if let message = Self.message(for: event, to: watcher) { sink(message) }
                }
            } else {
                for (_, object) in (state.objects[type] ?? [:]).sorted(by: { $0.key < $1.key }) where watcher.matches(object) {
                    sink(.event("ADDED", object))
                }
            }
            state.nextWatcherID += 1
            state.watchers[state.nextWatcherID] = watcher
            return state.nextWatcherID
        }
    }

    /// Sends a BOOKMARK with the current revision through the watch's sink; through the lock, so
    /// it is ordered after every event of a lower revision.
    func bookmark(_ id: Int) {
        state.withLock { state in
            state.watchers[id]?.sink(.bookmark(state.revision))
        }
    }

    /// Ends a watch's registration.
    func unwatch(_ id: Int) {
        _ = state.withLock { $0.watchers.removeValue(forKey: id) }
    }

    private static func record(_ state: inout State, _ event: StoredEvent) {
        state.history.append(event)
        for watcher in state.watchers.values where watcher.type == event.type {
            if let message = message(for: event, to: watcher) { watcher.sink(message) }
        }
    }

    /// The event a filtered watch sees: a change moving an object into or out of the selection
    /// is an ADDED or DELETED for that watch.
    private static func message(for event: StoredEvent, to watcher: Watcher) -> WatchMessage? {
        let now = watcher.matches(event.object)
        switch event.kind {
        case .added, .deleted:
            return now ? .event(event.kind.rawValue, event.object) : nil
        case .modified:
            let before = event.previous.map(watcher.matches) ?? now
            switch (before, now) {
            case (true, true): return .event("MODIFIED", event.object)
            case (false, true): return .event("ADDED", event.object)
            case (true, false): return .event("DELETED", event.object)
            case (false, false): return nil
            }
        }
    }

    // MARK: - Write rules

    /// Builds the stored object from the old one and the proposed one, by the rules of the
    /// addressed (sub)resource.
    static func merge(_ type: ResourceType, old: JSON, proposed: JSON, subresource: Subresource,
                      name: String) throws(StatusError) -> JSON {
        var new: JSON
        switch subresource {
        case .status:
            // Only status changes through /status.
            new = old
            new["status"] = proposed["status"]
        case .resize:
            new = try Resize.apply(old: old, proposed: proposed, name: name)
        case .main:
            new = proposed
            // The main resource ignores status when a status subresource exists.
            if type.hasStatus { new["status"] = old["status"] }
            if type == .pods { try Resize.checkMainUpdate(old: old, new: new, name: name) }
        }
        // A write through any (sub)resource may set managedFields (server-side apply does);
        // one that leaves them out keeps them, as on the real server.
        let managedFields = ["metadata", "managedFields"]
        new[path: managedFields] = proposed[path: managedFields] ?? old[path: managedFields]
        // System-owned metadata survives any write.
        new["kind"] = .string(type.kind)
        new["apiVersion"] = .string(type.apiVersion)
        for field in ["name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"] {
            new[path: ["metadata", field]] = old[path: ["metadata", field]]
        }
        if specChanged(old: old, new: new), let generation = old[path: ["metadata", "generation"]]?.int {
            new[path: ["metadata", "generation"]] = .int(generation + 1)
        }
        return new
    }

    /// Whether anything but metadata and status changed: what bumps `metadata.generation`.
    static func specChanged(old: JSON, new: JSON) -> Bool {
        var lhs = old, rhs = new
        for field in ["metadata", "status", "kind", "apiVersion"] {
            lhs[field] = nil
            rhs[field] = nil
        }
        return lhs != rhs
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}
