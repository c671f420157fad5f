import KubernetesClient
import Synchronization

/// The objects this controller wrote, until its informer catches up with them.
///
/// A write's answer is newer than the cache until the watch delivers it; a reconcile in that
/// gap (a pod event for the same key) would otherwise decide on the old object: patch again, or
/// write status on a stale resourceVersion (409). Each entry is used only while the cache
/// still holds exactly the version it replaced; once the cache moves on (our write or anyone
/// else's), the cache wins and the entry is dropped. No resourceVersion is ever compared for
/// order, which the API does not allow.
final class LocalWrites<R: KubernetesResource>: Sendable {
    private struct Entry: Sendable {
        var replaced: String?
        var object: R
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Remembers `object`, the answer to a write made on top of `replaced`'s version. A write on
    /// top of an earlier remembered answer still waits for the version the cache holds.
    func record(_ object: R, replacing replaced: R) {
        let key = object.key
        entries.withLock { entries in
            var base = replaced.metadata.resourceVersion
            if let earlier = entries[key], earlier.object.metadata.resourceVersion == base { base = earlier.replaced }
            entries[key] = Entry(replaced: base, object: object)
        }
    }

    /// The freshest object for `key` given what the cache holds.
    func resolve(_ key: String, cached: R?) -> R? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return cached }
            if let cached, cached.metadata.resourceVersion == entry.replaced { return entry.object }
            entries[key] = nil
            return cached
        }
    }

    /// Drops the entry for `key`.
    func forget(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
