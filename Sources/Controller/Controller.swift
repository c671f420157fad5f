import Foundation
import KubernetesClient
import Logging

/// The controller's work while it leads: two informers (PodAllocations and pods, in every
/// namespace) feed one ``WorkQueue`` of PodAllocation keys; a periodic resync queues every
/// PodAllocation again; `workers` tasks take keys and reconcile them.
///
/// A pod's events are mapped to the PodAllocation of the same namespace and name (the agent
/// names each allocation after its pod), so the kubelet's progress on a resize (conditions,
/// then `status.containerStatuses[].resources`) brings the allocation back for its phase.
/// Workers start only once both caches are full: before that, a missing pod would look gone.
///
/// Everything here lives as long as one call to ``run(gate:)``: a replica that loses the Lease
/// drops its caches and queue, and starts from a fresh LIST when it leads again.
public final class Controller: Sendable {
    private let client: APIClient
    private let configuration: ControllerConfiguration
    private let stats: ControllerStats
    private let logger: Logger
    private let now: @Sendable () -> Date

    /// Creates a controller.
    /// - Parameters:
    ///   - now: The wall clock (cooldowns, timestamps); tests may replace it.
    public init(client: APIClient, configuration: ControllerConfiguration, stats: ControllerStats = ControllerStats(),
                logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.configuration = configuration
        self.stats = stats
        self.logger = logger
        self.now = now
    }

    /// Runs until the calling task is cancelled. Every write first asks `gate`.
    public func run(gate: LeadershipGate) async {
        let queue = WorkQueue(baseDelay: configuration.retryBaseDelay, maxDelay: configuration.retryMaxDelay)
        let allocations = Informer(client.resources(PodAllocation.self), logger: logger)
        let pods = Informer(client.resources(Pod.self), logger: logger)
        let reconciler = Reconciler(client: client, configuration: configuration,
                                    allocations: { allocations.object($0) }, pods: { pods.object($0) },
                                    gate: gate, stats: stats, logger: logger, now: now)
        let stats = stats, logger = logger, configuration = configuration
        defer { stats.setSynced(false) }
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await allocations.run { event in
                        switch event {
                        case .added(let allocation), .updated(_, let allocation), .deleted(let allocation):
                            await queue.add(allocation.key)
                        case .synced:
                            break
                        }
                    }
                }
                group.addTask {
                    await pods.run { event in
                        switch event {
                        case .added(let pod), .updated(_, let pod), .deleted(let pod):
                            // Only pods that have an allocation; one created later is queued by its own event.
                            if allocations.object(pod.key) != nil { await queue.add(pod.key) }
                        case .synced:
                            break
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: configuration.resyncInterval) } catch { return }
                        for allocation in allocations.objects { await queue.add(allocation.key) }
                    }
                }
                group.addTask {
                    while !(allocations.hasSynced && pods.hasSynced) {
                        do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
                    }
                    stats.setSynced(true)
                    logger.info("caches synced; reconciling", metadata: [
                        "podallocations": "\(allocations.objects.count)", "workers": "\(configuration.workers)",
                    ])
                    await withTaskGroup(of: Void.self) { workers in
                        for _ in 0..<configuration.workers {
                            workers.addTask { await Self.work(queue: queue, reconciler: reconciler, stats: stats, logger: logger) }
                        }
                    }
                }
                await group.waitForAll()
            }
        } onCancel: {
            Task { await queue.shutDown() }
        }
    }

    /// One worker: take a key, reconcile it, tell the queue how it went; until the queue shuts down.
    private static func work(queue: WorkQueue, reconciler: Reconciler, stats: ControllerStats, logger: Logger) async {
        while let key = await queue.next() {
            do {
                let result = try await reconciler.reconcile(key)
                await queue.forget(key)
                if case .requeue(let delay) = result { await queue.add(key, after: delay) }
            } catch is NotLeading {
                logger.debug("write skipped: no longer the leader", metadata: ["podallocation": "\(key)"])
            } catch {
                stats.countError()
                await queue.addRateLimited(key)
                let message = (error as? KubernetesError)?.message ?? "\(error)"
                let attempt = await queue.failureCount(key)
                logger.warning("reconcile failed; retrying with backoff", metadata: [
                    "podallocation": "\(key)", "error": "\(message)", "attempt": "\(attempt)",
                ])
            }
            await queue.done(key)
        }
    }
}
