#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
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
    private let probe: KernelProbe
    private let actuator: any Actuator
    private let hierarchy: CgroupHierarchy
    private let parentRelativePath: String
    private let logger: Logger
    private let observer: (any AgentObserver)?
    private let state: Mutex<AgentState>
    private let capacity: Int

    /// When the last market round finished (CLOCK_MONOTONIC ns; 0 = none yet): for health probes.
    private let lastRoundAt = Atomic<UInt64>(0)
    /// When the last pushed event arrived (CLOCK_MONOTONIC ns; 0 = none yet).
    private let lastEventAt = Atomic<UInt64>(0)

    /// Seconds since the last market round and the last pushed event (nil: none yet).
    public var ages: (round: Double?, event: Double?) {
        let now = monotonicNanoseconds()
        func age(_ t: UInt64) -> Double? { t == 0 ? nil : Double(now &- t) / 1e9 }
        return (age(lastRoundAt.load(ordering: .relaxed)), age(lastEventAt.load(ordering: .relaxed)))
    }

    /// A market round was asked for and has not run yet.
    private let roundRequested = Atomic<Bool>(false)
    /// Kernel time of the stall that asked for the pending round.
    private let roundStallTimestamp = Atomic<UInt64>(0)
    private let roundRequests: AsyncStream<Void>
    private let roundContinuation: AsyncStream<Void>.Continuation

    /// Creates an agent over a loaded probe; `start()` adopts the pods.
    /// - Throws: ``AgentError`` naming the bad field or path.
    public init(configuration: AgentConfiguration, probe: KernelProbe, actuator: any Actuator,
                hierarchy: CgroupHierarchy, logger: Logger, observer: (any AgentObserver)? = nil) throws(AgentError) {
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
        do {
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
        self.hierarchy = hierarchy
        self.parentRelativePath = parent == mount ? "/" : String(parent.dropFirst(mount.count))
        self.logger = logger
        self.observer = observer
        self.capacity = capacity
        self.state = Mutex(AgentState(guardrail: guardrail, market: market))
        (roundRequests, roundContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Hot path (ring-buffer thread)

    /// Handles one pushed event, inline on the ring-buffer thread.
    public func handle(_ event: StallEvent) {
        lastEventAt.store(event.receivedAt, ordering: .relaxed)
        observer?.observe(event)
        switch event.kind {
        case .throttleStart:
            guardrail(cgroupID: event.cgroupID, stallTimestamp: event.stallStart)
            requestRound(stallTimestamp: event.stallStart)
        case .runQueueWait:
            requestRound(stallTimestamp: event.stallStart)
        case .throttleEnd:
            break
        }
    }

    /// Runs the guardrail for the pod owning `cgroupID` and writes a raise at
    /// once. `stallTimestamp` (kernel time of the stall) is nil when the
    /// stall was found by polling, which cannot tell when it began.
    private func guardrail(cgroupID: UInt64, stallTimestamp: UInt64?) {
        let now = monotonicNanoseconds()
        let raise: (slot: PodSlot, change: LimitChange)? = state.withLock { s in
            guard let slot = s.table.slot(forCgroupID: cgroupID),
                  let decision = s.guardrail.onThrottle(slot, now: now),
                  let pod = s.table.pod(slot) else { return nil }
            return (slot, LimitChange(pod: pod.name, cgroupPath: pod.cgroupPath, oldMillicores: decision.oldLimit,
                                      newMillicores: decision.newLimit, reason: .guardrail,
                                      stallTimestamp: stallTimestamp ?? 0))
        }
        guard let raise else { return }
        do {
            try actuator.apply(raise.change)
        } catch {
            state.withLock { $0.guardrail.setLimit(raise.slot, to: raise.change.oldMillicores) }
            logger.error("guardrail raise not applied", metadata: ["pod": "\(raise.change.pod)", "error": "\(error)"])
            return
        }
        let appliedAt = monotonicNanoseconds()
        let record = DecisionRecord(pod: raise.change.pod, reason: .guardrail, oldMillicores: raise.change.oldMillicores,
                                    newMillicores: raise.change.newMillicores, appliedAt: appliedAt,
                                    latencyNanoseconds: stallTimestamp.map { appliedAt &- $0 })
        state.withLock { $0.record(record, slot: raise.slot) }
        applied(record, cgroupPath: raise.change.cgroupPath)
    }

    /// Asks for a market round; only the first request of a round wakes the loop.
    private func requestRound(stallTimestamp: UInt64) {
        guard !roundRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        roundStallTimestamp.store(stallTimestamp, ordering: .relaxed)
        roundContinuation.yield()
    }

    // MARK: Market rounds

    /// Runs a market round for each pushed request, at most once per
    /// debounce interval, until cancelled.
    public func runMarketRounds() async {
        let debounce = Duration.milliseconds(configuration.market.debounceMs)
        for await _ in roundRequests {
            let stall = roundStallTimestamp.load(ordering: .relaxed)
            roundRequested.store(false, ordering: .releasing)
            marketRound(stallTimestamp: stall)
            do { try await Task.sleep(for: debounce) } catch { return }
        }
    }

    /// The slow pass, every `reclaim_interval_ms` until cancelled: adopt new
    /// and vanished pods, reconcile limits, and run a round (which is what
    /// gives CPU back once cooldowns allow).
    public func runReclaimPass() async {
        let interval = Duration.milliseconds(configuration.market.reclaimIntervalMs)
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            refreshPods()
            marketRound(stallTimestamp: nil)
        }
    }

    /// Polling mode, the baseline MBCAS replaces (its Go agent polls cpu.stat
    /// every second): nothing reacts to pushes; every `interval` the agent
    /// reads each pod's `cpu.stat`, runs the guardrail for every pod whose
    /// `nr_throttled` grew since the last poll, then a market round. Runs
    /// until cancelled, instead of `runMarketRounds()`.
    public func runPolling(interval: Duration) async {
        var lastThrottled: [UInt64: UInt64] = [:]
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let pods = state.withLock { s in s.table.sortedPods }
            for pod in pods {
                guard let stat = try? CPUStat.read(cgroupPath: pod.cgroupPath, version: hierarchy.version) else { continue }
                if let last = lastThrottled[pod.cgroupID], stat.nrThrottled > last {
                    guardrail(cgroupID: pod.cgroupID, stallTimestamp: nil)
                }
                lastThrottled[pod.cgroupID] = stat.nrThrottled
            }
            marketRound(stallTimestamp: nil)
        }
    }

    /// Tells the pushed-request loop to finish (on shutdown).
    public func finish() { roundContinuation.finish() }

    /// One market round: the window's accounting per pod → demand → market →
    /// safety rules → writes. The lock is held throughout, so a guardrail
    /// raise never interleaves with the round's writes.
    func marketRound(stallTimestamp: UInt64?) {
        let snapshot: ProbeSnapshot
        do { snapshot = try probe.maps.snapshot() } catch {
            logger.error("cannot read the cumulative maps", metadata: ["error": "\(error)"])
            return
        }
        var applied: [(DecisionRecord, String)] = []
        var published: NodeMarketRecord?
        var report = RoundReport(shadowPrice: 0, pods: [], ringBufferDrops: snapshot.counters.ringBufferDrops)
        state.withLock { s in
            let totals = Self.podTotals(snapshot, table: s.table)
            report.pods = s.table.sortedPods.map { pod in
                let t = totals[pod.slot] ?? PodTotals()
                return PodReport(name: pod.name, throttledNanos: t.throttledNanos, waitNanos: t.waitNanos,
                                 runNanos: t.runNanos, episodes: t.episodes)
            }
            var inputs: [RoundInput] = []
            for pod in s.table.sortedPods {
                let now = totals[pod.slot] ?? PodTotals()
                guard let last = s.lastTotals[pod.slot], snapshot.takenAt > last.at + 1_000_000 else { continue }
                let sample = DemandSample(
                    throttledNanos: now.throttledNanos &- last.totals.throttledNanos,
                    waitNanos: now.waitNanos &- last.totals.waitNanos,
                    runNanos: now.runNanos &- last.totals.runNanos,
                    limitMillicores: Double(pod.limit), windowNanos: snapshot.takenAt - last.at)
                inputs.append(RoundInput(
                    member: MarketMember(slot: pod.slot, name: pod.name, floor: pod.settings.floor,
                                         cap: pod.settings.cap, qos: pod.settings.qos, weight: pod.settings.weight),
                    sample: sample, currentLimit: pod.limit))
            }
            for pod in s.table.pods.values { s.lastTotals[pod.slot] = (totals[pod.slot] ?? PodTotals(), snapshot.takenAt) }
            guard !inputs.isEmpty else { return }
            let result: RoundResult
            do { result = try s.market.round(inputs, now: snapshot.takenAt) } catch {
                logger.error("market round failed", metadata: ["error": "\(error)"])
                return
            }
            s.rounds += 1
            s.shadowPrice = result.allocation.shadowPrice
            for decision in result.decisions {
                s.guardrail.setRaisesBlocked(decision.pod, s.market.safety.raisesBlocked(decision.pod, now: snapshot.takenAt))
                guard decision.changesLimit, let pod = s.table.pod(decision.pod) else { continue }
                let change = LimitChange(pod: pod.name, cgroupPath: pod.cgroupPath, oldMillicores: decision.oldLimit,
                                         newMillicores: decision.newLimit, reason: decision.reason,
                                         stallTimestamp: stallTimestamp ?? 0)
                do { try actuator.apply(change) } catch {
                    logger.error("market decision not applied", metadata: ["pod": "\(pod.name)", "error": "\(error)"])
                    continue
                }
                let appliedAt = monotonicNanoseconds()
                let record = DecisionRecord(pod: pod.name, reason: decision.reason, oldMillicores: decision.oldLimit,
                                            newMillicores: decision.newLimit, appliedAt: appliedAt,
                                            latencyNanoseconds: stallTimestamp.map { appliedAt &- $0 })
                s.guardrail.apply(decision)
                s.record(record, slot: decision.pod)
                applied.append((record, pod.cgroupPath))
            }
            published = NodeMarketRecord(
                capacityMillicores: UInt64(capacity), reserveMillicores: UInt64(configuration.reserveMillicores),
                allocatedMillicores: UInt64(max(0, s.allocatedMillicores)), shadowPrice: s.shadowPrice,
                rounds: s.rounds, decisions: UInt64(s.decisionsByReason.values.reduce(0, +)),
                updatedAt: snapshot.takenAt, agentPID: UInt64(getpid()))
        }
        for (record, path) in applied { self.applied(record, cgroupPath: path) }
        publishAllocations()
        lastRoundAt.store(monotonicNanoseconds(), ordering: .relaxed)
        if let published {
            try? probe.agentState.publish(published)
            report.shadowPrice = published.shadowPrice
        }
        observer?.roundFinished(report)
    }

    /// Sums the snapshot's per-cgroup totals into per-pod totals.
    private static func podTotals(_ snapshot: ProbeSnapshot, table: PodTable) -> [PodSlot: PodTotals] {
        var totals: [PodSlot: PodTotals] = [:]
        for (id, t) in snapshot.cgroups {
            guard let slot = table.slot(forCgroupID: id) else { continue }
            totals[slot, default: PodTotals()].throttledNanos &+= t.throttledIncludingOpenNanoseconds
            totals[slot, default: PodTotals()].waitNanos &+= t.waitNanoseconds
            totals[slot, default: PodTotals()].runNanos &+= t.runNanoseconds
            totals[slot, default: PodTotals()].episodes &+= t.throttleEpisodes
        }
        return totals
    }

    // MARK: Pods

    /// Adopts new child cgroups, drops vanished ones, reconciles each limit
    /// with its cgroup file (a limit changed by someone else is adopted; one
    /// outside [floor, cap] is brought back inside).
    public func refreshPods() {
        let parent = CgroupDirectory(path: configuration.cgroupParent)
        let names: [String]
        let index: CgroupIndex
        do {
            names = try parent.children()
            index = try CgroupIndex(hierarchy: hierarchy, subtree: parentRelativePath)
        } catch {
            logger.error("cannot list the managed cgroups", metadata: ["parent": "\(configuration.cgroupParent)", "error": "\(error.message)"])
            return
        }
        let present = Set(names)
        var watch: [UInt64] = []
        var events: [(String, Logger.Metadata)] = []
        var writes: [(DecisionRecord, String)] = []
        state.withLock { s in
            for pod in s.table.pods.values where !present.contains(pod.name) {
                s.guardrail.untrack(pod.slot)
                s.table.remove(pod.slot)
                s.lastTotals[pod.slot] = nil
                s.lastDecisions[pod.slot] = nil
                probe.agentState.remove(cgroupID: pod.cgroupID)
                probe.unwatch(cgroupID: pod.cgroupID)
                events.append(("pod vanished: its cgroup is gone, no longer managed", ["pod": "\(pod.name)"]))
            }
            let known = Set(s.table.pods.values.map(\.name))
            for name in names.sorted() where !known.contains(name) {
                let path = parent.child(name).path
                guard let id = index.id(forPath: childRelativePath(name)) ?? (try? cgroupID(of: path)) else { continue }
                let settings = configuration.settings(forPod: name)
                guard let pod = s.table.add(name: name, cgroupPath: path, cgroupID: id, settings: settings,
                                            limit: settings.floor) else {
                    events.append(("too many pods: not managed", ["pod": "\(name)", "limit": "\(PodTable.capacity)"]))
                    continue
                }
                try? s.guardrail.track(pod.slot, limit: pod.limit, cap: settings.cap, qos: settings.qos)
                events.append(("pod adopted", ["pod": "\(name)", "floor": "\(settings.floor)m", "cap": "\(settings.cap)m",
                                               "qos": "\(settings.qos.rawValue)"]))
            }
            // Reconcile every pod with its file: the file is the truth.
            for pod in s.table.sortedPods {
                let actual: Int?
                do { actual = try actuator.currentLimit(cgroupPath: pod.cgroupPath) } catch {
                    events.append(("cannot read limit", ["pod": "\(pod.name)", "error": "\(error)"]))
                    continue
                }
                let bounded = min(max(actual ?? pod.settings.cap, pod.settings.floor), pod.settings.cap)
                if bounded != actual {
                    let reason: Reason = bounded == pod.settings.floor && (actual ?? Int.max) < bounded ? .floor : .cap
                    let change = LimitChange(pod: pod.name, cgroupPath: pod.cgroupPath, oldMillicores: actual ?? -1,
                                             newMillicores: bounded, reason: reason)
                    do { try actuator.apply(change) } catch {
                        events.append(("limit out of bounds and not fixable", ["pod": "\(pod.name)", "error": "\(error)"]))
                        continue
                    }
                    let record = DecisionRecord(pod: pod.name, reason: reason, oldMillicores: actual ?? -1,
                                                newMillicores: bounded, appliedAt: monotonicNanoseconds(), latencyNanoseconds: nil)
                    s.record(record, slot: pod.slot)
                    writes.append((record, pod.cgroupPath))
                } else if bounded != pod.limit {
                    s.table.setLimit(pod.slot, bounded)
                }
                s.guardrail.setLimit(pod.slot, to: bounded)
            }
            s.table.mapDescendants(index, parentRelativePath: parentRelativePath)
            watch = s.table.cgroupIDs
        }
        for (message, metadata) in events { logger.notice("\(message)", metadata: metadata) }
        for (record, path) in writes { applied(record, cgroupPath: path) }
        do { try probe.watch(cgroupIDs: watch) } catch {
            logger.error("cannot update the probe's watch list", metadata: ["error": "\(error)"])
        }
        publishAllocations()
    }

    private func childRelativePath(_ name: String) -> String {
        parentRelativePath == "/" ? "/\(name)" : "\(parentRelativePath)/\(name)"
    }

    // MARK: Reporting

    /// Logs an applied change and tells the observer. Runs on the
    /// ring-buffer thread for guardrail raises: nothing here is built unless
    /// it is logged, and the pinned map is updated by the next round instead.
    private func applied(_ record: DecisionRecord, cgroupPath: String) {
        if logger.logLevel <= .info {
            var metadata: Logger.Metadata = [
                "pod": "\(record.pod)", "limit": "\(record.oldMillicores)m -> \(record.newMillicores)m",
                "reason": "\(record.reason.rawValue)",
            ]
            if let latency = record.latencyNanoseconds { metadata["push_to_write_us"] = "\(Double(latency) / 1000)" }
            logger.info("decision", metadata: metadata)
        }
        observer?.applied(record)
    }

    private func publishAllocations() {
        let pods = state.withLock { s in s.table.pods.values.map { ($0, s.lastDecisions[$0.slot]) } }
        for (pod, record) in pods { publish(pod, record: record) }
    }

    private func publish(_ pod: ManagedPod, record: DecisionRecord?) {
        try? probe.agentState.publish(cgroupID: pod.cgroupID, PodAllocationRecord(
            name: pod.name, limitMillicores: UInt64(max(0, pod.limit)), floorMillicores: UInt64(pod.settings.floor),
            capMillicores: UInt64(pod.settings.cap), updatedAt: record?.appliedAt ?? 0,
            lastLatencyNanoseconds: record?.latencyNanoseconds ?? 0, reason: record?.reason.rawValue ?? ""))
    }

    /// The agent at this moment.
    public func status() -> AgentStatus {
        state.withLock { s in
            AgentStatus(
                pods: s.table.sortedPods.map {
                    PodStatus(name: $0.name, cgroupPath: $0.cgroupPath, limit: $0.limit, floor: $0.settings.floor,
                              cap: $0.settings.cap, lastDecision: s.lastDecisions[$0.slot])
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
