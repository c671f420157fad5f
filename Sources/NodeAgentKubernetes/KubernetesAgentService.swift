import Logging
import NodeAgent
import ServiceLifecycle

/// The Kubernetes side of the agent, beside ``AgentService``: keeps the node's pods in sync
/// (informer; a pod added or removed triggers an adoption pass at once, coalesced), runs the
/// PodAllocation writer, and follows this node's PodAllocations so that a decision the cluster
/// refused brings the agent back to the pod's real limit, and (unless `--capacity` fixed it)
/// follows the node's allocatable cpu into the market, until graceful shutdown.
public struct KubernetesAgentService: Service {
    /// The node to follow and where its first read left off.
    public struct AllocatableSource: Sendable {
        public var node: NodeAllocatable
        public var millicores: Int
        public var resourceVersion: String

        public init(node: NodeAllocatable, millicores: Int, resourceVersion: String) {
            self.node = node
            self.millicores = millicores
            self.resourceVersion = resourceVersion
        }
    }

    private let agent: NodeAgent
    private let inventory: KubernetesPodInventory
    private let writer: PodAllocationWriter
    private let allocatable: AllocatableSource?
    private let logger: Logger

    public init(agent: NodeAgent, inventory: KubernetesPodInventory, writer: PodAllocationWriter,
                allocatable: AllocatableSource? = nil, logger: Logger) {
        self.agent = agent
        self.inventory = inventory
        self.writer = writer
        self.allocatable = allocatable
        self.logger = logger
    }

    public func run() async throws {
        let (refreshes, refresh) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let agent = self.agent, inventory = self.inventory, writer = self.writer, logger = self.logger
        let allocatable = self.allocatable
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await inventory.informer.run { event in
                        switch event {
                        case .synced:
                            logger.notice("pods of this node listed", metadata: [
                                "node": "\(inventory.nodeName)", "pods": "\(inventory.informer.objects.count)",
                            ])
                            refresh.yield()
                        case .added, .deleted:
                            refresh.yield()
                        case .updated(let old, let new):
                            // Phase or annotations (bounds) changed; resource changes come back from the controller.
                            if old.status?.phase != new.status?.phase || old.metadata.annotations != new.metadata.annotations {
                                refresh.yield()
                            }
                        }
                    }
                }
                group.addTask {
                    var first = true
                    for await _ in refreshes {
                        // The first adoption reads the floors recorded in the PodAllocations: wait
                        // (briefly: the CRD may be missing) until they are listed.
                        if first {
                            first = false
                            for _ in 0..<100 where !writer.allocations.hasSynced {
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                        agent.refreshPods()
                        let pods = agent.status().pods
                        writer.retain(pods: Set(pods.map(\.name)), cgroupPaths: Set(pods.map(\.cgroupPath)))
                        try? await Task.sleep(for: .milliseconds(200))  // coalesce bursts of pod events
                    }
                }
                group.addTask { await writer.run() }
                if let allocatable {
                    group.addTask {
                        // The kubelet re-reports allocatable (reservations changed, CPUs hot-plugged): the market follows.
                        await allocatable.node.follow(from: allocatable.millicores, resourceVersion: allocatable.resourceVersion) { millicores in
                            do throws(AgentError) {
                                let before = agent.status().capacityMillicores
                                if try agent.updateCapacity(millicores) {
                                    logger.notice("the node's allocatable cpu changed: the market divides the new amount", metadata: [
                                        "node": "\(allocatable.node.nodeName)", "was": "\(before)m", "now": "\(millicores)m",
                                    ])
                                }
                            } catch {
                                logger.error("the node's allocatable cpu changed to a value the agent cannot use; keeping the last",
                                             metadata: ["now": "\(millicores)m", "error": "\(error.message)"])
                            }
                        }
                    }
                }
                group.addTask {
                    // Direct raises (if on): held until the resize lands, re-asserted meanwhile.
                    while (try? await Task.sleep(for: .milliseconds(100))) != nil { writer.reassertDirectRaises() }
                }
                group.addTask {
                    // The controller's answers: a refused decision leaves the pod at its old limit.
                    await writer.allocations.run { event in
                        switch event {
                        case .added(let allocation), .updated(_, let allocation):
                            if writer.observe(allocation) { refresh.yield() }
                        case .deleted, .synced:
                            break
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        refresh.finish()
    }
}
