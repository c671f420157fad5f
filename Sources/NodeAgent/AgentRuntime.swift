import Cgroups
import KernelProbe
import Logging
import MonotonicTime
import ServiceLifecycle
import Synchronization

/// The agent's whole path from the kernel to the cgroup files, wired in one place: the ring-buffer
/// thread feeding ``NodeAgent/handle(_:)``, the rounds (pushed, or polled for the baseline) and the
/// slow pass. The CLI, the demo, the benchmarks and the tests all run the agent through this type,
/// so a change to the path is made once.
///
/// Lifecycle: the caller loads and attaches the probe (it owns it); `init` builds the agent, adopts
/// the pods (standalone) and starts the ring-buffer thread; ``run()`` runs the loops until cancelled;
/// ``stop()`` ends the thread and the loops. ``service(keepPins:)`` wraps all that as a ServiceLifecycle
/// service that also closes the probe on graceful shutdown.
public final class AgentRuntime: Sendable {
    /// How the agent learns of stalls.
    public enum Mode: Sendable, Equatable {
        /// The product: pushed events drive raises and rounds.
        case push
        /// The baseline it replaces: cpu.stat read every interval; pushes decide nothing.
        case poll(Duration)
        /// Pushes drive the hot path only; no rounds, no slow pass (benchmarks of the hot path).
        case hotPathOnly
    }

    /// The agent.
    public let agent: NodeAgent
    /// The probe it reads (owned by the caller until ``service(keepPins:)`` takes it over).
    public let probe: KernelProbe
    /// The ring-buffer thread.
    public let consumer: RingBufferConsumer
    /// How it runs.
    public let mode: Mode
    /// Whether the ring-buffer thread got SCHED_FIFO (needs CAP_SYS_NICE).
    public let realtime: Bool

    /// Builds the agent over an attached (or soon attached) probe and starts the ring-buffer thread.
    /// - Parameters:
    ///   - adoptPods: adopt the pods now (standalone); Kubernetes mode adopts once the API listed them.
    ///   - realtimePriority: SCHED_FIFO priority for the ring-buffer thread when permitted, nil for none.
    /// - Throws: ``AgentError`` for a bad configuration, ``ProbeError`` when the thread cannot start.
    public init(probe: KernelProbe, configuration: AgentConfiguration, actuator: any Actuator, hierarchy: CgroupHierarchy,
                inventory: (any PodInventory)? = nil, mode: Mode = .push, adoptPods: Bool = true,
                realtimePriority: Int32? = 10, logger: Logger, observer: (any AgentObserver)? = nil) throws {
        let agent = try NodeAgent(configuration: configuration, probe: probe, actuator: actuator, hierarchy: hierarchy,
                                  inventory: inventory, logger: logger, observer: observer)
        if adoptPods { agent.refreshPods() }
        // In polling mode events are still consumed (the maps stay the truth) but decide nothing.
        let reacts: Bool
        if case .poll = mode { reacts = false } else { reacts = true }
        // A probe loaded earlier (the demo's, across its phases) may hold a backlog of events from
        // before the agent ran: history, already in the maps' totals; reacting to it would only
        // report its age as push latency.
        let startedAt = monotonicNanos()
        let consumer = try probe.makeConsumer { event in
            if reacts, event.kernelTimestamp >= startedAt { agent.handle(event) }
        }
        self.agent = agent
        self.probe = probe
        self.consumer = consumer
        self.mode = mode
        self.realtime = try consumer.start(realtimePriority: realtimePriority)
    }

    /// Runs the loops of the mode until the task is cancelled.
    public func run() async {
        let agent = self.agent
        switch mode {
        case .hotPathOnly:
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        case .push, .poll:
            await withTaskGroup(of: Void.self) { group in
                if case .poll(let interval) = mode {
                    group.addTask { await agent.runPolling(interval: interval) }
                } else {
                    group.addTask { await agent.runMarketRounds() }
                    group.addTask { await agent.runObservation() }
                }
                group.addTask { await agent.runReclaimPass() }
            }
        }
    }

    /// Runs the loops in a task of their own (tests, the demo); ``stop()`` ends them.
    @discardableResult
    public func start() -> Task<Void, Never> {
        let task = Task { await self.run() }
        loops.withLock { $0 = task }
        return task
    }

    /// Stops the loops started by ``start()`` and the ring-buffer thread. Weights and limits stay as
    /// they are. Idempotent.
    public func stop() {
        loops.withLock { $0 }?.cancel()
        agent.finish()
        consumer.stop()
    }

    /// The runtime as a long-running service under a ServiceGroup: runs until graceful shutdown
    /// (SIGTERM/SIGINT), then stops and closes the probe (keeping the pins unless told otherwise).
    public func service(keepPins: Bool, logger: Logger) -> AgentService {
        AgentService(runtime: self, keepPins: keepPins, logger: logger)
    }

    private let loops = Mutex<Task<Void, Never>?>(nil)
}
