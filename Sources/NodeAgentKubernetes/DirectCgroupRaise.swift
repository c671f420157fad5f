import Cgroups
import Foundation
import KernelProbe
import KubernetesClient
import MonotonicTime
import NodeAgent
import Synchronization

/// `--direct-cgroup-raise`: on a pushed stall, a guardrail raise is also written straight into the
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
        let children = (try? CgroupDirectory(path: podCgroupPath).children()) ?? []
        var targets: [(path: String, millicores: Int64, before: CPULimit)] = []
        for container in containers {
            guard let id = pod.status?.containerStatuses?.first(where: { $0.name == container.name })?.containerID?
                    .split(separator: "/").last.map(String.init), !id.isEmpty,
                  let child = children.first(where: { $0.contains(id) }) else { continue }
            let path = podCgroupPath + "/" + child
            guard let before = try? CPULimit.read(cgroupPath: path, version: version) else { continue }
            targets.append((path, container.cpuLimit.millicores, before))
        }
        do {
            try CPULimit(millicores: Int64(millicores)).write(cgroupPath: podCgroupPath, version: version)
        } catch {
            return nil
        }
        let writtenAt = monotonicNanos()
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
}
