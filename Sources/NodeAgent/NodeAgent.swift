#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import MonotonicTime
import Synchronization

/// The node agent: kernel pushes in, CPU limits out.
///
/// - `handle(_:)` runs on the ring-buffer thread for every pushed event: a
///   throttle start goes through the fast guardrail and, if it raises, the
///   new limit is written at once, without waiting for any timer. Any stall
///   also asks for a market round.
/// - `runMarketRounds()` answers those requests, at most once per debounce
///   interval: demand from the cumulative map, exact market, safety rules.
/// - `runReclaimPass()` (every few seconds) is the only periodic work: it
///   gives CPU back, adopts new or vanished pods and reconciles limits with
///   the cgroup files.
public final class NodeAgent: Sendable {
    /// What the agent manages and how.
    public let configuration: AgentConfiguration
    let probe: KernelProbe
    let actuator: any Actuator
    let inventory: any PodInventory
    let hierarchy: CgroupHierarchy
    let parentRelativePath: String
    let logger: Logger
    let observer: (any AgentObserver)?
    let state: Mutex<AgentState>
    /// The node's allocatable CPU, millicores: fixed standalone; a Kubernetes node's may change
    /// (``updateCapacity(_:)``).
    private let capacityMillicores: Atomic<Int>
    var capacity: Int { capacityMillicores.load(ordering: .relaxed) }

    /// When the last market round finished (CLOCK_MONOTONIC ns; 0 = none yet): for health probes.
    let lastRoundAt = Atomic<UInt64>(0)
    /// When the last pushed event arrived (CLOCK_MONOTONIC ns; 0 = none yet).
    let lastEventAt = Atomic<UInt64>(0)

    /// Seconds since the last market round and the last pushed event (nil: none yet).
    public var ages: (round: Double?, event: Double?) {
        let now = monotonicNanos()
        func age(_ t: UInt64) -> Double? { t == 0 ? nil : Double(now &- t) / 1e9 }
        return (age(lastRoundAt.load(ordering: .relaxed)), age(lastEventAt.load(ordering: .relaxed)))
    }

    /// A market round was asked for and has not run yet.
    let roundRequested = Atomic<Bool>(false)
    /// Kernel time of the stall that asked for the pending round.
    let roundStallTimestamp = Atomic<UInt64>(0)
    /// Tells news from repeats among pushed stalls. Touched only by the ring-buffer thread: the
    /// lock is never contended.
    let stallStreaks: Mutex<StallStreaks>
    let roundRequests: AsyncStream<Void>
    let roundContinuation: AsyncStream<Void>.Continuation

    /// Creates an agent over a loaded probe; `start()` adopts the pods. `inventory` says which
    /// pods exist (default: the child cgroups of `cgroup_parent`).
    /// - Throws: ``AgentError`` naming the bad field or path.
    public init(configuration: AgentConfiguration, probe: KernelProbe, actuator: any Actuator,
                hierarchy: CgroupHierarchy, inventory: (any PodInventory)? = nil, logger: Logger,
                observer: (any AgentObserver)? = nil) throws(AgentError) {
        try configuration.validate()
        let mount = hierarchy.mountPoint.hasSuffix("/") ? String(hierarchy.mountPoint.dropLast()) : hierarchy.mountPoint
        let parent = configuration.cgroupParent.hasSuffix("/") && configuration.cgroupParent.count > 1
            ? String(configuration.cgroupParent.dropLast()) : configuration.cgroupParent
        guard parent == mount || parent.hasPrefix(mount + "/") else {
            throw AgentError(.invalidCgroupParent, """
                field cgroup_parent: \(parent) is not in the hierarchy holding the cpu controller \
                (mounted at \(mount)); managed cgroups must be below it
                """)
        }
        guard CgroupDirectory(path: parent).exists else {
            throw AgentError(.invalidCgroupParent, "field cgroup_parent: \(parent) does not exist (create it, or run `mbcas demo`)")
        }
        let capacity = configuration.capacityMillicores ?? onlineCPUs() * 1000
        guard configuration.reserveMillicores < capacity else {
            throw AgentError(.invalidConfiguration, "field reserve_millicores: \(configuration.reserveMillicores) is not below the capacity \(capacity)")
        }
        let market: NodeMarket
        let guardrail: Guardrail
        let planner: WeightPlanner
        do {
            planner = try WeightPlanner()
            market = try NodeMarket(
                capacity: capacity, reserve: configuration.reserveMillicores,
                safety: SafetyConfig(shrinkCooldown: .milliseconds(configuration.market.cooldownMs),
                                     warmup: .milliseconds(configuration.market.warmupMs)))
            guardrail = try Guardrail(
                slotCount: PodTable.capacity, capacity: capacity,
                config: GuardrailConfig(stepFraction: configuration.guardrail.step,
                                        interval: .milliseconds(configuration.guardrail.intervalMs),
                                        reserve: configuration.reserveMillicores))
        } catch {
            throw AgentError(.invalidConfiguration, "\(error)")
        }
        self.configuration = configuration
        self.probe = probe
        self.actuator = actuator
        self.inventory = inventory ?? CgroupChildrenInventory(configuration: configuration)
        self.hierarchy = hierarchy
        self.parentRelativePath = parent == mount ? "/" : String(parent.dropFirst(mount.count))
        self.logger = logger
        self.observer = observer
        self.capacityMillicores = Atomic(capacity)
        self.state = Mutex(AgentState(guardrail: guardrail, market: market, planner: planner))
        (roundRequests, roundContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        stallStreaks = Mutex(StallStreaks(repeatGapNanos: UInt64(configuration.market.repeatDebounceMs) * 1_000_000))
    }

    /// The node's allocatable CPU is now `millicores` (a Kubernetes node's `status.allocatable.cpu`
    /// changed): the market and the guardrail divide the new amount from the next round, which
    /// this asks for. Returns false when it did not change.
    /// - Throws: ``AgentError`` when the reserve does not fit below it; nothing changes then.
    @discardableResult
    public func updateCapacity(_ millicores: Int) throws(AgentError) -> Bool {
        guard millicores > configuration.reserveMillicores else {
            throw AgentError(.invalidConfiguration, "the node's allocatable cpu \(millicores)m is not above the reserve \(configuration.reserveMillicores)m")
        }
        let changed = try state.withLock { (s: inout AgentState) throws(AgentError) -> Bool in
            guard s.market.capacity != millicores else { return false }
            do {
                try s.market.setCapacity(millicores)
                try s.guardrail.setCapacity(millicores)
            } catch {
                throw AgentError(.invalidConfiguration, "\(error)")
            }
            capacityMillicores.store(millicores, ordering: .relaxed)
            return true
        }
        if changed { requestRound(stallTimestamp: 0) }
        return changed
    }

    public func status() -> AgentStatus {
        let now = monotonicNanos()
        return state.withLock { s in
            AgentStatus(
                pods: s.table.sortedPods.map { pod in
                    let plan = s.plans[pod.slot]
                    return PodStatus(name: pod.name, cgroupPath: pod.cgroupPath, limit: pod.limit, floor: pod.settings.floor,
                                     cap: pod.settings.cap, lastDecision: s.lastDecisions[pod.slot],
                                     weightShares: configuration.actuation == .weights ? pod.weight : nil,
                                     latencyClass: plan?.latencyClass, classDeclared: plan?.declared ?? false,
                                     evidence: plan?.evidence, shareMillicores: plan?.shareMillicores,
                                     directionChangesLastMinute: s.reversalsLastMinute(pod.slot, now: now))
                },
                shadowPrice: s.shadowPrice, rounds: s.rounds, decisionsByReason: s.decisionsByReason,
                guardrailLatency: LatencySummary(s.guardrailLatency), marketLatency: LatencySummary(s.marketLatency),
                allocatedMillicores: s.allocatedMillicores, capacityMillicores: capacity,
                reserveMillicores: configuration.reserveMillicores)
        }
    }
}

/// Hooks for whoever shows or exports what the agent does (metrics, the demo).
/// `observe` runs on the ring-buffer thread: keep it cheap.
public protocol AgentObserver: Sendable {
    /// Every pushed event, on the ring-buffer thread.
    func observe(_ event: StallEvent)
    /// Every applied limit change.
    func applied(_ decision: DecisionRecord)
    /// After each market round.
    func roundFinished(_ report: RoundReport)
}

/// Online CPUs, for the default capacity.
func onlineCPUs() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}
