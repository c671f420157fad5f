#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import MonotonicTime
import Synchronization

/// Weights actuation (standalone): the kernel clears, MBCAS sets the budgets.
///
/// - The node budget (capacity − reserve) is the managed parent's quota, so the pods together never
///   use more, whatever their limits.
/// - Each round turns the scheduler windows into CFS weights (``WeightPlanner``): a latency-sensitive
///   pod's demand is served first, batch shares the rest, floors hold. The kernel divides contended CPU
///   by those weights at every scheduling decision and gives idle CPU to whoever is runnable.
/// - A pod's limit is its cap. One found below it (set by someone else, or adopted) stays until the
///   pod throttles at it; the push then raises it to the cap at once, on the ring-buffer thread.
///
/// No lock is held across file I/O: rounds decide under the lock and write outside it, so the
/// ring-buffer thread never waits on a cgroup write.
extension NodeAgent {
    /// The node budget, millicores.
    var budget: Int { capacity - configuration.reserveMillicores }

    /// A pod's cap as enforced: never above the budget (cgroup v1 refuses a child quota above its
    /// parent's, and above it the cap means nothing).
    func effectiveCap(_ settings: AgentConfiguration.PodSettings) -> Int {
        configuration.actuation == .weights ? min(settings.cap, budget) : settings.cap
    }

    /// Hot path: the pod owning `cgroupID` throttled. If its own limit is below its cap, that limit —
    /// not the neighbours — is what holds it back: raise it to the cap now.
    func raiseToCap(cgroupID: UInt64, stallTimestamp: UInt64?) {
        let target: (pod: ManagedPod, cap: Int)? = state.withLock { s in
            guard let slot = s.table.slot(forCgroupID: cgroupID), let pod = s.table.pod(slot),
                  pod.settings.qos != .guaranteed else { return nil }
            let cap = effectiveCap(pod.settings)
            return pod.limit < cap ? (pod, cap) : nil
        }
        guard let target else { return }
        let change = LimitChange(pod: target.pod.name, cgroupPath: target.pod.cgroupPath, oldMillicores: target.pod.limit,
                                 newMillicores: target.cap, reason: .guardrail, stallTimestamp: stallTimestamp ?? 0,
                                 capMillicores: target.cap)
        do { try actuator.apply(change) } catch {
            logger.error("raise to cap not applied", metadata: ["pod": "\(target.pod.name)", "error": "\(error)"])
            return
        }
        let appliedAt = monotonicNanos()
        let record = DecisionRecord(pod: target.pod.name, reason: .guardrail, oldMillicores: target.pod.limit,
                                    newMillicores: target.cap, appliedAt: appliedAt,
                                    latencyNanos: stallTimestamp.map { appliedAt &- $0 })
        state.withLock { $0.record(record, slot: target.pod.slot) }
        applied(record, cgroupPath: target.pod.cgroupPath)
    }

    /// One weights round: windows → planner → weight writes (only those beyond the deadband).
    func weightRound(stallTimestamp: UInt64?) {
        let snapshot: ProbeSnapshot
        do { snapshot = try probe.maps.snapshot() } catch {
            logger.error("cannot read the cumulative maps", metadata: ["error": "\(error)"])
            return
        }
        let now = snapshot.takenAt
        var report = RoundReport(shadowPrice: 0, pods: [], ringBufferDrops: snapshot.counters.ringBufferDrops)
        var writes: [(pod: ManagedPod, plan: WeightPlan)] = []
        var missedRaises: [UInt64] = []
        let planned: Bool = state.withLock { s in
            let totals = Self.podTotals(snapshot, table: s.table)
            var inputs: [PlannerInput] = []
            inputs.reserveCapacity(s.table.pods.count)
            for pod in s.table.sortedPods {
                let current = totals[pod.slot] ?? PodTotals()
                report.pods.append(PodReport(name: pod.name, throttledNanos: current.throttledNanos, waitNanos: current.waitNanos,
                                             runNanos: current.runNanos, episodes: current.episodes,
                                             directionChanges: s.reversalTotals[pod.slot] ?? 0))
                var window: SchedulerWindow?
                if let last = s.lastTotals[pod.slot], now > last.at + 1_000_000 {
                    let delta = current.since(last.totals)
                    window = SchedulerWindow(runNanos: delta.runNanos, waitNanos: delta.waitNanos,
                                             throttledNanos: delta.throttledNanos, switches: delta.switches,
                                             windowNanos: now - last.at)
                    // A throttle the push path did not see (dropped event, polling mode) still lifts a limit below the cap.
                    if window!.throttledNanos > 0, pod.limit < effectiveCap(pod.settings) { missedRaises.append(pod.cgroupID) }
                }
                if window != nil || s.lastTotals[pod.slot] == nil { s.lastTotals[pod.slot] = (current, now) }
                inputs.append(PlannerInput(
                    slot: pod.slot, name: pod.name, floor: pod.settings.floor, cap: effectiveCap(pod.settings),
                    weight: pod.settings.weight, qos: pod.settings.qos, declaredClass: pod.settings.latencyClass,
                    window: window, currentWeight: pod.weight.map { CPUWeight(shares: $0) }))
            }
            guard !inputs.isEmpty else { return false }
            let round: PlanningRound
            do { round = try s.planner.round(inputs, budget: budget) } catch {
                logger.error("weight planning failed", metadata: ["error": "\(error)"])
                return false
            }
            s.rounds += 1
            s.shadowPrice = round.allocation.shadowPrice
            let bursts = actuator.setsBurst == true
            for (index, plan) in round.plans.enumerated() {
                s.plans[plan.slot] = plan
                report.pods[index].shareMillicores = plan.shareMillicores
                report.pods[index].latencyClass = plan.latencyClass
                report.pods[index].classDeclared = plan.declared
                report.pods[index].latencyScore = plan.evidence.score
                report.pods[index].weightShares = plan.write ? plan.target.shares : plan.current?.shares
                if bursts, let pod = s.table.pod(plan.slot) {
                    report.pods[index].burstMicros = CPUBurst.micros(for: CPULimit(millicores: Int64(pod.limit)),
                                                                     capMillicores: Int64(effectiveCap(pod.settings)))
                }
                if plan.write, let pod = s.table.pod(plan.slot) { writes.append((pod, plan)) }
            }
            return true
        }
        for id in missedRaises { raiseToCap(cgroupID: id, stallTimestamp: nil) }
        guard planned else { return }
        var applied: [(record: DecisionRecord, pod: ManagedPod, plan: WeightPlan)] = []
        for (pod, plan) in writes {
            do {
                try CPUShares.write(plan.target.shares, cgroupPath: pod.cgroupPath, version: hierarchy.version)
            } catch {
                logger.error("weight not applied", metadata: ["pod": "\(pod.name)", "shares": "\(plan.target.shares)",
                                                              "error": "\(error.message)"])
                continue
            }
            let appliedAt = monotonicNanos()
            applied.append((DecisionRecord(
                pod: pod.name, reason: .weight, oldMillicores: plan.current?.shares ?? pod.weight ?? 0,
                newMillicores: plan.target.shares, appliedAt: appliedAt,
                latencyNanos: stallTimestamp.map { appliedAt &- $0 }, knob: .weight,
                latencyClass: plan.latencyClass, evidence: plan.evidence.summary), pod, plan))
        }
        let published: NodeMarketRecord = state.withLock { s in
            for (record, pod, plan) in applied {
                s.record(record, slot: pod.slot)
                s.noteMove(pod.slot, reversed: plan.reversesDirection, now: record.appliedAt)
            }
            return marketRecord(s, at: now)
        }
        for (record, pod, _) in applied { self.applied(record, cgroupPath: pod.cgroupPath) }
        finishRound(report, market: published)
    }

    /// Puts the node budget on the managed parent (weights actuation), unless the parent is the
    /// hierarchy's root, which has no quota. Called after the pods' limits were brought within it:
    /// on cgroup v1 a parent's quota may not fall below a child's.
    func assertBudget() {
        guard configuration.actuation == .weights else { return }
        let parent = configuration.cgroupParent
        guard parentRelativePath != "/" else { return }
        let wanted = CPULimit(millicores: Int64(budget))
        let current = try? CPULimit.read(cgroupPath: parent, version: hierarchy.version)
        guard current?.quotaMicros != wanted.quotaMicros || current?.periodMicros != wanted.periodMicros else { return }
        do {
            try wanted.write(cgroupPath: parent, version: hierarchy.version)
            logger.notice("node budget set on the managed parent", metadata: [
                "parent": "\(parent)", "budget": "\(budget)m", "was": "\(current?.millicores.map { "\($0)m" } ?? "unlimited")",
            ])
        } catch {
            logger.error("cannot set the node budget on the managed parent: pods together may use more than capacity − reserve",
                         metadata: ["parent": "\(parent)", "budget": "\(budget)m", "error": "\(error.message)"])
        }
    }
}
