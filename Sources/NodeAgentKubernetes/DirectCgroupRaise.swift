import Cgroups
import Foundation
import KernelProbe
import KubernetesClient
import MonotonicTime
import NodeAgent
import Synchronization

/// `--direct-cgroup-raise`: on a pushed stall, a guardrail raise (and, under weights actuation, a
/// weight raise: ``raiseWeight(pod:object:podCgroupPath:podRequest:)``) is also written straight into the
/// pod's cgroups, as koordlet writes its CPU Burst behind the kubelet, so the pod gets its CPU in
/// microseconds instead of after the API → controller → kubelet round trip. The PodAllocation is
/// written as always; the raise is held only until that resize lands.
///
/// - Both levels carry a quota on a real node: the pod cgroup (the kubelet sets it from the
///   containers' limits) and each container's cgroup (the runtime sets it from the container's
///   limit). Raising writes the pod level first, lowering the containers first (a child's quota
///   above its parent's is meaningless, and the kernel refuses nothing either way), as koordlet.
/// - Bounded: only raises (the guardrail's, within the node's budget and the pod's cap), and each
///   is held at most `maxHold`: the kubelet rewrites the cgroups from the pod's actuated limits
///   on pod sync; ``reassert(now:)`` (every writer tick) writes the raise again when that
///   happened before the resize landed, at most `maxReasserts` times. When the resize lands
///   (the pod's status reports the limits) the cgroups are the kubelet's again; when it is
///   refused, or the hold runs out, the kubelet's values are written back (containers first).
final class DirectCgroupRaise: Sendable {
    struct Hold: Sendable {
        /// Pod cgroup and per-container cgroups with the raised millicores, and what they had.
        var podPath: String
        var podMillicores: Int64
        var podBefore: CPULimit
        var containers: [(path: String, millicores: Int64, before: CPULimit)]
        var since: ContinuousClock.Instant
        var reasserts = 0
        /// CLOCK_MONOTONIC ns when the pod cgroup was written.
        var writtenAt: UInt64
    }

    let version: CgroupVersion
    let maxHold: Duration
    let maxReasserts: Int
    private let holds = Mutex<[String: Hold]>([:])
    private let weightHolds = Mutex<[String: WeightHold]>([:])

    init(version: CgroupVersion, maxHold: Duration = .seconds(10), maxReasserts: Int = 5) {
        self.version = version
        self.maxHold = maxHold
        self.maxReasserts = maxReasserts
    }

    /// Writes the raise (pod level first, then the containers); returns when the pod cgroup
    /// was written (CLOCK_MONOTONIC ns), nil when nothing was written (not a raise, the pod's
    /// containers or cgroups not known).
    func raise(pod key: String, object pod: Pod, podCgroupPath: String, millicores: Int) -> UInt64? {
        guard let containers = ContainerSplit.split(podLimit: Int64(millicores), spec: pod.spec),
              let podBefore = try? CPULimit.read(cgroupPath: podCgroupPath, version: version),
              (podBefore.millicores ?? .max) < Int64(millicores) else { return nil }
        // The pod level first, before any container file is looked for: it is what the kernel
        // throttles the pod at as a whole, and the stall → write latency is measured to it.
        do {
            try CPULimit(millicores: Int64(millicores)).write(cgroupPath: podCgroupPath, version: version)
        } catch {
            return nil
        }
        let writtenAt = monotonicNanos()
        let paths = Self.containerCgroups(of: pod, podCgroupPath: podCgroupPath)
        var targets: [(path: String, millicores: Int64, before: CPULimit)] = []
        for container in containers {
            guard let path = paths[container.name], let before = try? CPULimit.read(cgroupPath: path, version: version) else { continue }
            targets.append((path, container.cpuLimit.millicores, before))
        }
        for target in targets where (target.before.millicores ?? .max) < target.millicores {
            try? CPULimit(millicores: target.millicores).write(cgroupPath: target.path, version: version)
        }
        holds.withLock { holds in
            let podBeforeKept = holds[key]?.podBefore ?? podBefore  // a second raise keeps the kubelet's original
            let containersBefore = Dictionary(uniqueKeysWithValues: (holds[key]?.containers ?? []).map { ($0.path, $0.before) })
            holds[key] = Hold(podPath: podCgroupPath, podMillicores: Int64(millicores), podBefore: podBeforeKept,
                              containers: targets.map { ($0.path, $0.millicores, containersBefore[$0.path] ?? $0.before) },
                              since: .now, writtenAt: writtenAt)
        }
        return writtenAt
    }

    /// One pass over the held raises: released when the pod's actuated limits reached them
    /// (`landed`), written back when `refused` or out of time or re-asserts, re-asserted when
    /// the kubelet or runtime rewrote them meanwhile.
    func reassert(now: ContinuousClock.Instant = .now, landed: (String, Hold) -> Bool, refused: (String) -> Bool) {
        let current = holds.withLock { $0 }
        for (key, hold) in current {
            if landed(key, hold) {
                holds.withLock { _ = $0.removeValue(forKey: key) }
                continue
            }
            if refused(key) || now - hold.since > maxHold || hold.reasserts >= maxReasserts {
                restore(hold)
                holds.withLock { _ = $0.removeValue(forKey: key) }
                continue
            }
            let podNow = (try? CPULimit.read(cgroupPath: hold.podPath, version: version))?.millicores ?? .max
            guard podNow < hold.podMillicores else { continue }
            try? CPULimit(millicores: hold.podMillicores).write(cgroupPath: hold.podPath, version: version)
            for container in hold.containers {
                try? CPULimit(millicores: container.millicores).write(cgroupPath: container.path, version: version)
            }
            holds.withLock { $0[key]?.reasserts += 1 }
        }
    }

    /// The kubelet's values back, containers first (lowering).
    private func restore(_ hold: Hold) {
        for container in hold.containers { try? container.before.write(cgroupPath: container.path, version: version) }
        try? hold.podBefore.write(cgroupPath: hold.podPath, version: version)
    }

    /// Pods with a raise held now.
    var held: [String: Hold] { holds.withLock { $0 } }

    /// Each container's cgroup under the pod's, found by the container ID its status reports.
    static func containerCgroups(of pod: Pod, podCgroupPath: String) -> [String: String] {
        let children = (try? CgroupDirectory(path: podCgroupPath).children()) ?? []
        var paths: [String: String] = [:]
        for status in pod.status?.containerStatuses ?? [] {
            guard let id = status.containerID?.split(separator: "/").last.map(String.init), !id.isEmpty,
                  let child = children.first(where: { $0.contains(id) }) else { continue }
            paths[status.name] = podCgroupPath + "/" + child
        }
        return paths
    }

    // MARK: - Weights

    /// A weight raise held: the pod cgroup's and containers' cpu.shares, and what they had.
    struct WeightHold: Sendable {
        var podPath: String
        /// The pod request it stands for, millicores (landed once the pod's status reports it).
        var requestMillicores: Int64
        var shares: Int
        var before: Int
        var containers: [(path: String, shares: Int, before: Int)]
        var since: ContinuousClock.Instant
        var reasserts = 0
    }

    /// Writes a weight raise (weights actuation): the pod cgroup's cpu.shares for `podRequest`
    /// millicores as the kubelet converts it, then each container's for its share of the request,
    /// so the kernel divides by the new weights now, not after the resize. Returns when the pod
    /// cgroup was written, nil when nothing was (not a raise, the cgroup unreadable).
    func raiseWeight(pod key: String, object pod: Pod, podCgroupPath: String, podRequest: Int64) -> UInt64? {
        let shares = Self.kubeletShares(podRequest)
        guard let before = try? CPUShares.read(cgroupPath: podCgroupPath, version: version), before < shares,
              let split = ContainerSplit.split(podLimit: ((try? PodCPU(pod.spec).limit) ?? nil) ?? podRequest,
                                               podRequest: podRequest, spec: pod.spec) else { return nil }
        // The pod level first, as for limits; then the containers' files are looked for.
        do { try CPUShares.write(shares, cgroupPath: podCgroupPath, version: version) } catch { return nil }
        let writtenAt = monotonicNanos()
        let paths = Self.containerCgroups(of: pod, podCgroupPath: podCgroupPath)
        var containers: [(path: String, shares: Int, before: Int)] = []
        for container in split {
            guard let path = paths[container.name], let request = container.cpuRequest,
                  let old = try? CPUShares.read(cgroupPath: path, version: version) else { continue }
            containers.append((path, Self.kubeletShares(request.millicores), old))
        }
        for container in containers where container.before < container.shares {
            try? CPUShares.write(container.shares, cgroupPath: container.path, version: version)
        }
        weightHolds.withLock { holds in
            let kept = holds[key]  // a second raise keeps the kubelet's original values
            let keptContainers = Dictionary(uniqueKeysWithValues: (kept?.containers ?? []).map { ($0.path, $0.before) })
            holds[key] = WeightHold(podPath: podCgroupPath, requestMillicores: podRequest, shares: shares, before: kept?.before ?? before,
                                    containers: containers.map { ($0.path, $0.shares, keptContainers[$0.path] ?? $0.before) },
                                    since: .now)
        }
        return writtenAt
    }

    /// One pass over the weight raises held, as ``reassert(now:landed:refused:)`` for limits.
    func reassertWeights(now: ContinuousClock.Instant = .now, landed: (String, WeightHold) -> Bool, refused: (String) -> Bool) {
        for (key, hold) in weightHolds.withLock({ $0 }) {
            if landed(key, hold) {
                weightHolds.withLock { _ = $0.removeValue(forKey: key) }
                continue
            }
            if refused(key) || now - hold.since > maxHold || hold.reasserts >= maxReasserts {
                for container in hold.containers { try? CPUShares.write(container.before, cgroupPath: container.path, version: version) }
                try? CPUShares.write(hold.before, cgroupPath: hold.podPath, version: version)
                weightHolds.withLock { _ = $0.removeValue(forKey: key) }
                continue
            }
            // cgroup v2 reads back through the weight conversion: within 2 % is the value written.
            let current = (try? CPUShares.read(cgroupPath: hold.podPath, version: version)) ?? 0
            guard Double(current) < Double(hold.shares) * 0.98 else { continue }
            try? CPUShares.write(hold.shares, cgroupPath: hold.podPath, version: version)
            for container in hold.containers { try? CPUShares.write(container.shares, cgroupPath: container.path, version: version) }
            weightHolds.withLock { $0[key]?.reasserts += 1 }
        }
    }

    /// Pods with a weight raise held now.
    var heldWeights: [String: WeightHold] { weightHolds.withLock { $0 } }

    /// The kubelet's `MilliCPUToShares`: millicores × 1024 / 1000, integer division, at least 2.
    static func kubeletShares(_ millicores: Int64) -> Int { max(2, Int(millicores * 1024 / 1000)) }
}
