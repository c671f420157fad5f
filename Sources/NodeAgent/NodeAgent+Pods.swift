#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import Synchronization

/// Which child cgroups are pods, and reconciling their limits with the files.
extension NodeAgent {
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

    func childRelativePath(_ name: String) -> String {
        parentRelativePath == "/" ? "/\(name)" : "\(parentRelativePath)/\(name)"
    }
}
