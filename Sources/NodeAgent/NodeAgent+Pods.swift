#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import MonotonicTime
import Synchronization

/// Which child cgroups are pods, and reconciling their limits with the files.
extension NodeAgent {
    /// Adopts new child cgroups, drops vanished ones, reconciles each limit
    /// with its cgroup file (a limit changed by someone else is adopted; one
    /// outside [floor, cap] is brought back inside).
    public func refreshPods() {
        let index: CgroupIndex
        let candidates: [PodCandidate]
        do {
            index = try CgroupIndex(hierarchy: hierarchy, subtree: parentRelativePath)
            candidates = try inventory.pods(index: index, hierarchy: hierarchy)
        } catch let error as CgroupError {
            logger.error("cannot list the managed cgroups", metadata: ["parent": "\(configuration.cgroupParent)", "error": "\(error.message)"])
            return
        } catch let error as AgentError {
            logger.error("cannot list the pods to manage", metadata: ["error": "\(error.message)"])
            return
        } catch {
            return
        }
        let present = Dictionary(candidates.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var events: [(String, Logger.Metadata)] = []
        // 1. Membership, under the lock (no file I/O here but the ids of new cgroups, read first).
        let known = state.withLock { s in Set(s.table.pods.values.map(\.name)) }
        var newIDs: [String: UInt64] = [:]
        for candidate in candidates where !known.contains(candidate.name) {
            newIDs[candidate.name] = relativePath(of: candidate.cgroupPath).flatMap(index.id(forPath:))
                ?? (try? cgroupID(of: candidate.cgroupPath))
        }
        let newWeights: [String: Int] = configuration.actuation == .weights
            ? newIDs.keys.reduce(into: [:]) { weights, name in
                weights[name] = try? CPUShares.read(cgroupPath: present[name]!.cgroupPath, version: hierarchy.version)
            } : [:]
        let pods: [ManagedPod] = state.withLock { s in
            // Gone, or moved to another cgroup (a pod recreated under the same name): drop it.
            for pod in s.table.pods.values where present[pod.name]?.cgroupPath != pod.cgroupPath {
                s.guardrail.untrack(pod.slot)
                s.table.remove(pod.slot)
                s.lastTotals[pod.slot] = nil
                s.lastDecisions[pod.slot] = nil
                s.plans[pod.slot] = nil
                s.reversals[pod.slot] = nil
                s.limitDirections[pod.slot] = nil
                probe.agentState.remove(cgroupID: pod.cgroupID)
                probe.unwatch(cgroupID: pod.cgroupID)
                events.append(("pod vanished: its cgroup is gone, no longer managed", ["pod": "\(pod.name)"]))
            }
            let known = Set(s.table.pods.values.map(\.name))
            for candidate in candidates.sorted(by: { $0.name < $1.name }) where !known.contains(candidate.name) {
                let name = candidate.name, settings = candidate.settings
                guard let id = newIDs[name] ?? nil else { continue }
                guard let pod = s.table.add(name: name, cgroupPath: candidate.cgroupPath, cgroupID: id, settings: settings,
                                            limit: settings.floor) else {
                    events.append(("too many pods: not managed", ["pod": "\(name)", "limit": "\(PodTable.capacity)"]))
                    continue
                }
                if let weight = newWeights[name] { s.table.setWeight(pod.slot, weight) }
                try? s.guardrail.track(pod.slot, limit: pod.limit, cap: settings.cap, qos: settings.qos)
                var metadata: Logger.Metadata = ["floor": "\(settings.floor)m", "cap": "\(settings.cap)m",
                                                 "qos": "\(settings.qos.rawValue)", "pod": "\(name)"]
                if configuration.actuation == .weights {
                    metadata["class"] = "\(settings.latencyClass.map { "\($0) (declared)" } ?? "learned from the scheduler")"
                }
                events.append(("pod adopted", metadata))
            }
            s.table.mapDescendants(index, relativePath: relativePath(of:))
            return s.table.sortedPods
        }
        // 2. Reconcile every pod with its file, outside the lock: the file is the truth.
        var limits: [(PodSlot, Int)] = []
        var writes: [(DecisionRecord, PodSlot, String)] = []
        for pod in pods {
            let actual: Int?
            do { actual = try actuator.currentLimit(cgroupPath: pod.cgroupPath) } catch {
                events.append(("cannot read limit", ["pod": "\(pod.name)", "error": "\(error)"]))
                continue
            }
            let cap = effectiveCap(pod.settings)
            let bounded = min(max(actual ?? cap, pod.settings.floor), cap)
            if bounded != actual {
                let reason: Reason = bounded == pod.settings.floor && (actual ?? Int.max) < bounded ? .floor : .cap
                let change = LimitChange(pod: pod.name, cgroupPath: pod.cgroupPath, oldMillicores: actual ?? -1,
                                         newMillicores: bounded, reason: reason, capMillicores: cap)
                do { try actuator.apply(change) } catch {
                    events.append(("limit out of bounds and not fixable", ["pod": "\(pod.name)", "error": "\(error)"]))
                    continue
                }
                let record = DecisionRecord(pod: pod.name, reason: reason, oldMillicores: actual ?? -1,
                                            newMillicores: bounded, appliedAt: monotonicNanos(), latencyNanos: nil)
                writes.append((record, pod.slot, pod.cgroupPath))
            } else {
                if newIDs[pod.name] != nil { actuator.adopted(cgroupPath: pod.cgroupPath, millicores: bounded, capMillicores: cap) }
                limits.append((pod.slot, bounded))
            }
        }
        let watch: [UInt64] = state.withLock { s in
            for (record, slot, _) in writes where s.table.pod(slot) != nil {
                s.record(record, slot: slot)
                s.guardrail.setLimit(slot, to: record.newMillicores)
            }
            for (slot, limit) in limits where s.table.pod(slot) != nil {
                s.table.setLimit(slot, limit)
                s.guardrail.setLimit(slot, to: limit)
            }
            return s.table.cgroupIDs
        }
        assertBudget()
        for (message, metadata) in events { logger.notice("\(message)", metadata: metadata) }
        for (record, _, path) in writes { applied(record, cgroupPath: path) }
        // Exactly the live pods' cgroups: the probe frees what it kept for the others.
        do { try probe.watchOnly(Set(watch)) } catch {
            logger.error("cannot update the probe's watch list", metadata: ["error": "\(error)"])
        }
        publishAllocations()
    }

    /// An absolute cgroup path relative to the hierarchy's mount point; nil when outside it.
    func relativePath(of absolute: String) -> String? {
        let mount = hierarchy.mountPoint.hasSuffix("/") ? String(hierarchy.mountPoint.dropLast()) : hierarchy.mountPoint
        if absolute == mount { return "/" }
        guard absolute.hasPrefix(mount + "/") else { return nil }
        return String(absolute.dropFirst(mount.count))
    }
}
