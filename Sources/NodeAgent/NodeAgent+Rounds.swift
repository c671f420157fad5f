#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import MonotonicTime
import Synchronization

/// Market rounds: on pushed requests (debounced), on the slow pass, or polled (the baseline mode).
extension NodeAgent {
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
                    onThrottle(cgroupID: pod.cgroupID, stallTimestamp: nil)
                }
                lastThrottled[pod.cgroupID] = stat.nrThrottled
            }
            marketRound(stallTimestamp: nil)
        }
    }

    /// Tells the pushed-request loop to finish (on shutdown).
    public func finish() { roundContinuation.finish() }

    /// One market round: the window's accounting per pod → demand → market →
    /// safety rules → writes. Decided under the lock (the guardrail takes the
    /// new limits in at once, so a raise never counts headroom a cut has not
    /// freed yet), written outside it (the ring-buffer thread never waits on a
    /// cgroup write), a failed write handed back to the guardrail.
    func marketRound(stallTimestamp: UInt64?) {
        if configuration.actuation == .weights { return weightRound(stallTimestamp: stallTimestamp) }
        let snapshot: ProbeSnapshot
        do { snapshot = try probe.maps.snapshot() } catch {
            logger.error("cannot read the cumulative maps", metadata: ["error": "\(error)"])
            return
        }
        var report = RoundReport(shadowPrice: 0, pods: [], ringBufferDrops: snapshot.counters.ringBufferDrops)
        let decided: (changes: [(PodSlot, LimitChange)], price: Double)? = state.withLock { s in
            let totals = Self.podTotals(snapshot, table: s.table)
            report.pods = s.table.sortedPods.map { pod in
                let t = totals[pod.slot] ?? PodTotals()
                return PodReport(name: pod.name, throttledNanos: t.throttledNanos, waitNanos: t.waitNanos,
                                 runNanos: t.runNanos, episodes: t.episodes, directionChanges: s.reversalTotals[pod.slot] ?? 0)
            }
            var inputs: [RoundInput] = []
            for pod in s.table.sortedPods {
                let now = totals[pod.slot] ?? PodTotals()
                guard let last = s.lastTotals[pod.slot], snapshot.takenAt > last.at + 1_000_000 else { continue }
                let delta = now.since(last.totals)
                let sample = DemandSample(
                    throttledNanos: delta.throttledNanos, waitNanos: delta.waitNanos, runNanos: delta.runNanos,
                    limitMillicores: Double(pod.limit), windowNanos: snapshot.takenAt - last.at)
                inputs.append(RoundInput(
                    member: MarketMember(slot: pod.slot, name: pod.name, floor: pod.settings.floor,
                                         cap: pod.settings.cap, qos: pod.settings.qos, weight: pod.settings.weight),
                    sample: sample, currentLimit: pod.limit))
            }
            for pod in s.table.pods.values { s.lastTotals[pod.slot] = (totals[pod.slot] ?? PodTotals(), snapshot.takenAt) }
            guard !inputs.isEmpty else { return nil }
            let result: RoundResult
            do { result = try s.market.round(inputs, now: snapshot.takenAt) } catch {
                logger.error("market round failed", metadata: ["error": "\(error)"])
                return nil
            }
            s.rounds += 1
            s.shadowPrice = result.allocation.shadowPrice
            s.guardrail.absorb(result.decisions, safety: s.market.safety, now: snapshot.takenAt)
            let changes: [(PodSlot, LimitChange)] = result.decisions.compactMap { decision in
                guard decision.changesLimit, let pod = s.table.pod(decision.pod) else { return nil }
                return (decision.pod, LimitChange(pod: pod.name, cgroupPath: pod.cgroupPath, oldMillicores: decision.oldLimit,
                                                  newMillicores: decision.newLimit, reason: decision.reason,
                                                  stallTimestamp: stallTimestamp ?? 0, shadowPrice: result.allocation.shadowPrice,
                                                  overcommit: result.allocation.overcommit, capMillicores: pod.settings.cap))
            }
            return (changes, result.allocation.shadowPrice)
        }
        guard let decided else { return }
        var applied: [(PodSlot, DecisionRecord, String)] = []
        var failed: [(PodSlot, Int)] = []
        for (slot, change) in decided.changes {
            do { try actuator.apply(change) } catch {
                logger.error("market decision not applied", metadata: ["pod": "\(change.pod)", "error": "\(error)"])
                failed.append((slot, change.oldMillicores))
                continue
            }
            let appliedAt = monotonicNanos()
            applied.append((slot, DecisionRecord(pod: change.pod, reason: change.reason, oldMillicores: change.oldMillicores,
                                                 newMillicores: change.newMillicores, appliedAt: appliedAt,
                                                 latencyNanos: stallTimestamp.map { appliedAt &- $0 }), change.cgroupPath))
        }
        let published: NodeMarketRecord = state.withLock { s in
            for (slot, old) in failed { s.guardrail.setLimit(slot, to: old) }  // the file still holds the old limit
            for (slot, record, _) in applied where s.table.pod(slot) != nil { s.record(record, slot: slot) }
            return marketRecord(s, at: snapshot.takenAt)
        }
        for (_, record, path) in applied { self.applied(record, cgroupPath: path) }
        finishRound(report, market: published)
    }

    /// Sums the snapshot's per-cgroup totals into per-pod totals.
    static func podTotals(_ snapshot: ProbeSnapshot, table: PodTable) -> [PodSlot: PodTotals] {
        var totals: [PodSlot: PodTotals] = [:]
        for (id, t) in snapshot.cgroups {
            // A watched cgroup that never ran has an all-zero entry: it adds nothing, and skipping it
            // keeps observation ticks to the pods that ever ran (a node's idle pods cost nothing).
            guard t.runNanos | t.waitNanos | t.throttledIncludingOpenNanos | t.switches != 0,
                  let slot = table.slot(forCgroupID: id) else { continue }
            totals[slot, default: PodTotals()].throttledNanos &+= t.throttledIncludingOpenNanos
            totals[slot, default: PodTotals()].waitNanos &+= t.waitNanos
            totals[slot, default: PodTotals()].runNanos &+= t.runNanos
            totals[slot, default: PodTotals()].episodes &+= t.throttleEpisodes
            totals[slot, default: PodTotals()].switches &+= t.switches
        }
        return totals
    }
}
