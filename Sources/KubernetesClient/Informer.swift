import Logging
import Synchronization

/// What an ``Informer`` tells its handler.
public enum InformerEvent<R: KubernetesResource>: Sendable {
    case added(R)
    case updated(old: R, new: R)
    case deleted(R)
    /// The cache holds the whole collection (after the first LIST and after every relist).
    case synced
}

/// LIST then WATCH, forever: keeps a cache of one collection and hands every change to a
/// handler, as client-go's reflector does. A watch that ends is resumed from the last seen
/// resourceVersion; a `410 Gone` (history compacted) relists and reports the difference
/// between the old cache and the new list as ordinary events, so a handler never misses a
/// deletion. Other failures (API down, 429, 5xx) back off with jitter and try again.
public final class Informer<R: KubernetesResource>: Sendable {
    private let resources: ResourceClient<R>
    private let options: ListOptions
    private let watchTimeoutSeconds: Int
    private let backoff: RetryPolicy
    private let logger: Logger
    private let cache = Mutex<[String: R]>([:])
    private let syncedFlag = Atomic<Bool>(false)
    private let listCount = Atomic<Int>(0)
    private let connectedFlag = Atomic<Bool>(false)

    /// Creates an informer over `resources` (one namespace or all) filtered by `options`.
    public init(_ resources: ResourceClient<R>, options: ListOptions = ListOptions(), watchTimeoutSeconds: Int = 300,
                backoff: RetryPolicy = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(5)),
                logger: Logger) {
        self.resources = resources
        self.options = options
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.backoff = backoff
        self.logger = logger
    }

    /// The cached object with key `namespace/name`.
    public func object(_ key: String) -> R? { cache.withLock { $0[key] } }

    /// Every cached object.
    public var objects: [R] { cache.withLock { Array($0.values) } }

    /// True once the first LIST has filled the cache.
    public var hasSynced: Bool { syncedFlag.load(ordering: .acquiring) }

    /// How many LISTs have been made (1 + relists).
    public var lists: Int { listCount.load(ordering: .relaxed) }

    /// False from a failed LIST or WATCH until the next one succeeds: the API is unreachable
    /// (or refusing) now. For readiness probes.
    public var isConnected: Bool { connectedFlag.load(ordering: .relaxed) }

    /// Runs until the calling task is cancelled; events reach `handler` one at a time, in order.
    public func run(_ handler: @Sendable (InformerEvent<R>) async -> Void) async {
        var failures = 0
        relist: while !Task.isCancelled {
            let listed: (items: [R], resourceVersion: String)
            do {
                listed = try await resources.listAll(ListOptions(labelSelector: options.labelSelector,
                                                                 fieldSelector: options.fieldSelector, limit: options.limit ?? 500))
            } catch {
                failures += 1
                connectedFlag.store(false, ordering: .relaxed)
                logger.warning("cannot list \(R.plural); retrying", metadata: ["error": "\(error.message)", "attempt": "\(failures)"])
                await pause(after: failures, error)
                continue relist
            }
            listCount.add(1, ordering: .relaxed)
            connectedFlag.store(true, ordering: .relaxed)
            for event in replace(with: listed.items) { await handler(event) }
            syncedFlag.store(true, ordering: .releasing)
            await handler(.synced)
            var resourceVersion = listed.resourceVersion
            failures = 0
            while !Task.isCancelled {
                do {
                    for try await event in resources.watch(options, resourceVersion: resourceVersion,
                                                           timeoutSeconds: watchTimeoutSeconds) {
                        failures = 0
                        connectedFlag.store(true, ordering: .relaxed)
                        if let version = event.resourceVersion { resourceVersion = version }
                        if let change = apply(event) { await handler(change) }
                    }
                } catch let error as KubernetesError where error.isExpired {
                    logger.notice("watch of \(R.plural) expired (410): relisting", metadata: ["resourceVersion": "\(resourceVersion)"])
                    continue relist
                } catch {
                    failures += 1
                    connectedFlag.store(false, ordering: .relaxed)
                    let message = (error as? KubernetesError)?.message ?? "\(error)"
                    logger.warning("watch of \(R.plural) failed; resuming", metadata: [
                        "error": "\(message)", "resourceVersion": "\(resourceVersion)", "attempt": "\(failures)",
                    ])
                    await pause(after: failures, error as? KubernetesError)
                }
            }
        }
    }

    private func pause(after failures: Int, _ error: KubernetesError?) async {
        try? await Task.sleep(for: backoff.delay(afterAttempt: failures, retryAfter: error?.retryAfter))
    }

    /// Swaps the cache for a fresh list; returns what changed.
    private func replace(with items: [R]) -> [InformerEvent<R>] {
        cache.withLock { cache in
            var events: [InformerEvent<R>] = []
            var fresh: [String: R] = [:]
            for item in items { fresh[item.key] = item }
            for (key, old) in cache where fresh[key] == nil { events.append(.deleted(old)) }
            for (key, new) in fresh.sorted(by: { $0.key < $1.key }) {
                if let old = cache[key] {
                    if old.metadata.resourceVersion != new.metadata.resourceVersion { events.append(.updated(old: old, new: new)) }
                } else {
                    events.append(.added(new))
                }
            }
            cache = fresh
            return events
        }
    }

    private func apply(_ event: WatchEvent<R>) -> InformerEvent<R>? {
        cache.withLock { cache in
            switch event {
            case .added(let object), .modified(let object):
                let old = cache.updateValue(object, forKey: object.key)
                return old.map { .updated(old: $0, new: object) } ?? .added(object)
            case .deleted(let object):
                cache[object.key] = nil
                return .deleted(object)
            case .bookmark:
                return nil
            }
        }
    }
}
