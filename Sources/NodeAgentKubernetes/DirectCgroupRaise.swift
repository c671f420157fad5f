import Cgroups
import Foundation
import KubernetesClient
import Logging
import MonotonicTime
import Synchronization

/// `--direct-cgroup-raise`: on a pushed stall, a guardrail raise (and, under weights actuation, a
/// weight raise: ``raiseWeight(pod:object:podCgroupPath:podRequest:)``) is also written straight into the
/// pod's cgroups, as koordlet writes its CPU Burst behind the kubelet, so the pod gets its CPU in
/// microseconds instead of after the API → controller → kubelet round trip. The PodAllocation is
/// written as always; the raise is held only until that resize lands.
///
/// One mechanism for both knobs (``CgroupKnob``: the quota, the weight):
/// - Both levels carry the knob on a real node: the pod cgroup (the kubelet sets it from the
///   containers' limits / requests) and each container's cgroup (the runtime sets it from the
///   container's). Raising writes the pod level first, lowering the containers first (cgroup v1
///   refuses a child's quota above its parent's), as koordlet.
/// - Bounded: only raises (within the node's budget and the pod's cap: the agent decided them).
///   The kubelet rewrites the cgroups from the pod's actuated resources on pod sync;
///   ``reassert(now:landed:refused:)`` (every writer tick) writes the raise again when that
///   happened before the resize landed. A pod's raises, from its first until the resize lands,
///   are one episode (later raises in it keep its start and its count): held at most `maxHold`
///   and re-asserted at most `maxReasserts` times. When the resize lands (the pod's status
///   reports it) the cgroups are the kubelet's again; when it is refused, or the episode runs
///   out, the kubelet's values are written back (containers first) and that pod gets no direct
///   raise of that knob for `maxHold`: so the pod runs above the resources the cluster gave it
///   at most half the time, however long its resize waits (Deferred) or fails.
final class DirectCgroupRaise: Sendable {
    /// A raise held: per pod and knob.
    struct Key: Sendable, Hashable {
        var pod: String
        var knob: CgroupKnob
    }

    /// One cgroup written: the value raised to, and the kubelet's (or runtime's) value before.
    struct Write: Sendable {
        var path: String
        var value: CgroupKnob.Value
        var before: CgroupKnob.Value
    }

    struct Hold: Sendable {
        var knob: CgroupKnob
        /// The pod-level decision it carries out, millicores: the pod limit (quota) or the pod
        /// request (weight); landed once the pod's status reports it.
        var decided: Int64
        var pod: Write
        var containers: [Write]
        var since: ContinuousClock.Instant
        var reasserts = 0
        /// CLOCK_MONOTONIC ns when the pod cgroup was written.
        var writtenAt: UInt64
    }

    let version: CgroupVersion
    let maxHold: Duration
    let maxReasserts: Int
    private let logger: Logger
    private let holds = Mutex<[Key: Hold]>([:])
    /// Pods and knobs given back (refused, out of time or re-asserts): no direct raise until then.
    private let resting = Mutex<[Key: ContinuousClock.Instant]>([:])

    init(version: CgroupVersion, maxHold: Duration = .seconds(10), maxReasserts: Int = 5,
         logger: Logger = Logger(label: "mbcas.direct-raise")) {
        self.version = version
        self.maxHold = maxHold
        self.maxReasserts = maxReasserts
        self.logger = logger
    }

    /// What a pod limit of `millicores` is in the cgroups: the pod's quota, each container's part
    /// of it (``ContainerSplit``); nil when a container has no limit.
    static func quotas(_ millicores: Int, of pod: Pod) -> (pod: CgroupKnob.Value, containers: [(name: String, value: CgroupKnob.Value)])? {
        guard let split = ContainerSplit.split(podLimit: Int64(millicores), spec: pod.spec) else { return nil }
        return (.limit(CPULimit(millicores: Int64(millicores))), split.map { ($0.name, .limit(CPULimit(millicores: $0.cpuLimit.millicores))) })
    }

    /// What a pod request of `podRequest` millicores is in the cgroups: the weights the kubelet
    /// (pod) and the runtime (containers, for their share of the request) derive from it.
    static func weights(_ podRequest: Int64, of pod: Pod) -> (pod: CgroupKnob.Value, containers: [(name: String, value: CgroupKnob.Value)])? {
        guard let split = ContainerSplit.split(podLimit: ((try? PodCPU(pod.spec).limit) ?? nil) ?? podRequest,
                                               podRequest: podRequest, spec: pod.spec) else { return nil }
        return (.shares(kubeletShares(podRequest)),
                split.compactMap { container in container.cpuRequest.map { (container.name, .shares(kubeletShares($0.millicores))) } })
    }

    /// A limit raise: the pod cgroup's quota to `millicores`, each container's to its part of it.
    /// Returns when the pod cgroup was written (CLOCK_MONOTONIC ns), nil when nothing was (not a
    /// raise, resting, the pod's containers or cgroups not known).
    func raise(pod key: String, object pod: Pod, podCgroupPath: String, millicores: Int) -> UInt64? {
        // A pod with a container without a limit has an unlimited pod cgroup: never a raise.
        raise(Key(pod: key, knob: .quota), object: pod, podCgroupPath: podCgroupPath, decided: Int64(millicores),
              podValue: .limit(CPULimit(millicores: Int64(millicores)))) { Self.quotas(millicores, of: pod)?.containers ?? [] }
    }

    /// A weight raise (weights actuation): the pod cgroup's cpu.shares for `podRequest` millicores
    /// as the kubelet converts it, then each container's for its share of the request, so the
    /// kernel divides by the new weights now, not after the resize. Returns as ``raise(pod:object:podCgroupPath:millicores:)``.
    func raiseWeight(pod key: String, object pod: Pod, podCgroupPath: String, podRequest: Int64) -> UInt64? {
        raise(Key(pod: key, knob: .weight), object: pod, podCgroupPath: podCgroupPath, decided: podRequest,
              podValue: .shares(Self.kubeletShares(podRequest))) { Self.weights(podRequest, of: pod)?.containers ?? [] }
    }

    /// A later decision below a held raise (a round lowered the pod again before the resize
    /// landed): the held cgroups follow it down, containers first; when it is no raise over the
    /// kubelet's values any more, those are written back and the hold ends.
    func lower(pod key: String, object pod: Pod, millicores: Int) {
        guard let values = Self.quotas(millicores, of: pod) else { return }
        follow(Key(pod: key, knob: .quota), object: pod, decided: Int64(millicores), podValue: values.pod, containers: values.containers)
    }

    /// ``lower(pod:object:millicores:)`` for a lower request under a held weight raise.
    func lowerWeight(pod key: String, object pod: Pod, podRequest: Int64) {
        guard let values = Self.weights(podRequest, of: pod) else { return }
        follow(Key(pod: key, knob: .weight), object: pod, decided: podRequest, podValue: values.pod, containers: values.containers)
    }

    private func follow(_ key: Key, object pod: Pod, decided: Int64, podValue: CgroupKnob.Value,
                        containers: [(name: String, value: CgroupKnob.Value)]) {
        guard let hold = holds.withLock({ $0[key] }), podValue.amount < hold.pod.value.amount else { return }
        if podValue.amount <= hold.pod.before.amount {
            restore(hold)
            holds.withLock { _ = $0.removeValue(forKey: key) }
            return
        }
        let paths = Self.containerCgroups(of: pod, podCgroupPath: hold.pod.path)
        let lowered = Dictionary(containers.compactMap { container in paths[container.name].map { ($0, container.value) } }) { first, _ in first }
        let updated = hold.containers.map { write in
            Write(path: write.path, value: lowered[write.path].map { $0.amount > write.before.amount ? $0 : write.before } ?? write.value,
                  before: write.before)
        }
        for write in updated { try? key.knob.write(write.value, to: write.path, version: version) }
        try? key.knob.write(podValue, to: hold.pod.path, version: version)
        holds.withLock { holds in
            holds[key]?.decided = decided
            holds[key]?.pod.value = podValue
            holds[key]?.containers = updated
        }
    }

    /// The raise path for either knob: the pod level first, before anything else is worked out
    /// (it is what the kernel holds the pod to as a whole, and the stall → write latency is
    /// measured to it); then the containers' parts (`containers`), their cgroups looked for and
    /// raised where below their part.
    private func raise(_ key: Key, object pod: Pod, podCgroupPath: String, decided: Int64, podValue: CgroupKnob.Value,
                       containers parts: () -> [(name: String, value: CgroupKnob.Value)]) -> UInt64? {
        let knob = key.knob
        guard resting.withLock({ $0[key].map { ContinuousClock.now >= $0 } ?? true }),
              let before = try? knob.read(podCgroupPath, version: version), before.amount < podValue.amount else { return nil }
        do { try knob.write(podValue, to: podCgroupPath, version: version) } catch { return nil }
        let writtenAt = monotonicNanos()
        let paths = Self.containerCgroups(of: pod, podCgroupPath: podCgroupPath)
        var writes: [Write] = []
        for container in parts() {
            guard let path = paths[container.name], let old = try? knob.read(path, version: version) else { continue }
            writes.append(Write(path: path, value: container.value, before: old))
        }
        for write in writes where write.before.amount < write.value.amount {
            try? knob.write(write.value, to: write.path, version: version)
        }
        holds.withLock { holds in
            // A second raise in the episode keeps the kubelet's original values, its start and its count.
            let kept = holds[key]
            let keptBefore = Dictionary((kept?.containers ?? []).map { ($0.path, $0.before) }) { first, _ in first }
            holds[key] = Hold(knob: knob, decided: decided,
                              pod: Write(path: podCgroupPath, value: podValue, before: kept?.pod.before ?? before),
                              containers: writes.map { Write(path: $0.path, value: $0.value, before: keptBefore[$0.path] ?? $0.before) },
                              since: kept?.since ?? .now, reasserts: kept?.reasserts ?? 0, writtenAt: writtenAt)
        }
        return writtenAt
    }

    /// One pass over the held raises: released when the pod's status reports the decision
    /// (`landed`), written back when `refused` or out of time or re-asserts, re-asserted when the
    /// kubelet or runtime rewrote them meanwhile.
    func reassert(now: ContinuousClock.Instant = .now, landed: (String, Hold) -> Bool, refused: (String) -> Bool) {
        resting.withLock { $0 = $0.filter { $0.value > now } }  // pods come and go: only the rests still running
        for (key, hold) in holds.withLock({ $0 }) {
            if landed(key.pod, hold) {
                holds.withLock { _ = $0.removeValue(forKey: key) }
                continue
            }
            let rewritten = (try? hold.knob.read(hold.pod.path, version: version)).map { !hold.knob.holds($0, hold.pod.value) } ?? false
            let why = refused(key.pod) ? "the cluster refused the resize"
                : now - hold.since > maxHold ? "the resize did not land within \(maxHold)"
                : rewritten && hold.reasserts >= maxReasserts ? "rewritten by the kubelet \(hold.reasserts + 1) times before the resize landed"
                : nil
            if let why {
                restore(hold)
                holds.withLock { _ = $0.removeValue(forKey: key) }
                resting.withLock { $0[key] = now + maxHold }
                logger.notice("direct raise given back to the kubelet's value", metadata: [
                    "pod": "\(key.pod)", "knob": "\(hold.knob)", "why": "\(why)", "no_direct_raise_for": "\(maxHold)",
                ])
                continue
            }
            guard rewritten else { continue }
            try? hold.knob.write(hold.pod.value, to: hold.pod.path, version: version)
            for container in hold.containers { try? hold.knob.write(container.value, to: container.path, version: version) }
            holds.withLock { $0[key]?.reasserts += 1 }
            logger.info("direct raise re-asserted: the kubelet rewrote the cgroup before the resize landed", metadata: [
                "pod": "\(key.pod)", "knob": "\(hold.knob)", "reassert": "\(hold.reasserts + 1)", "of": "\(maxReasserts)",
            ])
        }
    }

    /// The kubelet's values back, containers first (lowering).
    private func restore(_ hold: Hold) {
        for container in hold.containers { try? hold.knob.write(container.before, to: container.path, version: version) }
        try? hold.knob.write(hold.pod.before, to: hold.pod.path, version: version)
    }

    /// Raises held now, both knobs.
    var held: [Key: Hold] { holds.withLock { $0 } }

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

    /// The kubelet's `MilliCPUToShares`: millicores × 1024 / 1000, integer division, at least 2.
    static func kubeletShares(_ millicores: Int64) -> Int { max(2, Int(millicores * 1024 / 1000)) }
}
