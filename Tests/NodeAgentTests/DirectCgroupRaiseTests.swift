import Cgroups
import Foundation
import KubernetesClient
@testable import NodeAgent
@testable import NodeAgentKubernetes
import Testing

/// `--direct-cgroup-raise` on files shaped like cgroup v1 quota files (no kernel needed): the
/// order of writes, the hold, re-asserting after the kubelet rewrites, and giving back.
@Suite("direct cgroup raise")
struct DirectCgroupRaiseTests {
    /// A pod cgroup with one container cgroup, both at `millicores`.
    final class Tree {
        let pod = NSTemporaryDirectory() + "mbcas-direct-\(UUID().uuidString)"
        let containerID = String(repeating: "ab", count: 32)
        var container: String { pod + "/" + containerID }

        init(millicores: Int64) throws {
            try FileManager.default.createDirectory(atPath: container, withIntermediateDirectories: true)
            for path in [pod, container] {
                try "100000\n".write(toFile: path + "/cpu.cfs_period_us", atomically: false, encoding: .utf8)
                try set(path, millicores)
                try setShares(path, 102)  // the kubelet's weight for a 100m request
            }
        }

        /// What the kubelet (pod) or the runtime (container) writes.
        func set(_ path: String, _ millicores: Int64) throws {
            try "\(millicores * 100)\n".write(toFile: path + "/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
        }

        func setShares(_ path: String, _ shares: Int) throws {
            try "\(shares)\n".write(toFile: path + "/cpu.shares", atomically: false, encoding: .utf8)
        }

        func shares(_ path: String) -> Int? { try? CPUShares.read(cgroupPath: path, version: .v1) }

        func limit(_ path: String) -> Int64? { (try? CPULimit.read(cgroupPath: path, version: .v1))?.millicores ?? nil }

        deinit { try? FileManager.default.removeItem(atPath: pod) }
    }

    static func pod(containerID: String) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: "web", namespace: "shop"), spec: PodSpec(nodeName: "node-a", containers: [
            Container(name: "app", resources: ResourceRequirements(requests: ["cpu": "100m"], limits: ["cpu": "200m"])),
        ]))
        pod.status = PodStatus(phase: "Running", containerStatuses: [
            ContainerStatus(name: "app", containerID: "containerd://\(containerID)",
                            resources: ResourceRequirements(requests: ["cpu": "100m"], limits: ["cpu": "200m"])),
        ])
        return pod
    }

    @Test("a raise writes the pod cgroup and the container's; re-asserted when the kubelet rewrites it, at most N times, then given back")
    func raiseHoldReassertRestore() throws {
        let tree = try Tree(millicores: 200)
        let direct = DirectCgroupRaise(version: .v1, maxHold: .seconds(60), maxReasserts: 2)
        let pod = Self.pod(containerID: tree.containerID)
        #expect(direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 500) != nil)
        #expect(tree.limit(tree.pod) == 500 && tree.limit(tree.container) == 500)
        #expect(direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 400) == nil)  // not a raise

        // The kubelet's pod sync puts back what it actuated (the resize has not landed).
        for _ in 0..<2 {
            try tree.set(tree.pod, 200)
            try tree.set(tree.container, 200)
            direct.reassert(landed: { _, _ in false }, refused: { _ in false })
            #expect(tree.limit(tree.pod) == 500 && tree.limit(tree.container) == 500)
        }
        // Out of re-asserts: the kubelet's values back, and the raise no longer held.
        try tree.set(tree.pod, 200)
        direct.reassert(landed: { _, _ in false }, refused: { _ in false })
        #expect(direct.held.isEmpty)
        #expect(tree.limit(tree.pod) == 200 && tree.limit(tree.container) == 200)
    }

    @Test("landed: released as it is; refused: the kubelet's values written back, containers first")
    func landedOrRefused() throws {
        let tree = try Tree(millicores: 200)
        let direct = DirectCgroupRaise(version: .v1)
        let pod = Self.pod(containerID: tree.containerID)
        _ = direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 500)
        direct.reassert(landed: { _, hold in hold.decided == 500 }, refused: { _ in false })
        #expect(direct.held.isEmpty)
        #expect(tree.limit(tree.pod) == 500)  // now the kubelet's own value

        let other = try Tree(millicores: 200)
        _ = direct.raise(pod: "shop/web", object: Self.pod(containerID: other.containerID), podCgroupPath: other.pod, millicores: 600)
        direct.reassert(landed: { _, _ in false }, refused: { $0 == "shop/web" })
        #expect(direct.held.isEmpty)
        #expect(other.limit(other.pod) == 200 && other.limit(other.container) == 200)
    }

    @Test("a weight raise writes the pod's and the container's cpu.shares as the kubelet would for the new request; re-asserted, released when the resize lands, given back when refused")
    func weightRaise() throws {
        let tree = try Tree(millicores: 200)
        let direct = DirectCgroupRaise(version: .v1, maxHold: .seconds(60), maxReasserts: 2)
        let pod = Self.pod(containerID: tree.containerID)
        #expect(direct.raiseWeight(pod: "shop/web", object: pod, podCgroupPath: tree.pod, podRequest: 150) != nil)
        #expect(tree.shares(tree.pod) == 153 && tree.shares(tree.container) == 153)  // 150m × 1024 / 1000
        #expect(direct.raiseWeight(pod: "shop/web", object: pod, podCgroupPath: tree.pod, podRequest: 100) == nil)  // not a raise
        try tree.setShares(tree.pod, 102)  // the kubelet's pod sync, before the resize landed
        direct.reassert(landed: { _, _ in false }, refused: { _ in false })
        #expect(tree.shares(tree.pod) == 153)
        direct.reassert(landed: { _, hold in hold.decided == 150 }, refused: { _ in false })
        #expect(direct.held.isEmpty && tree.shares(tree.pod) == 153)

        _ = direct.raiseWeight(pod: "shop/web", object: pod, podCgroupPath: tree.pod, podRequest: 190)
        direct.reassert(landed: { _, _ in false }, refused: { _ in true })
        #expect(direct.held.isEmpty)
        #expect(tree.shares(tree.pod) == 153 && tree.shares(tree.container) == 153)  // what it had before
    }

    @Test("one episode per pod: a later raise keeps the episode's re-assert count; given back, the pod gets no direct raise for maxHold")
    func episodeBounded() throws {
        let tree = try Tree(millicores: 200)
        let direct = DirectCgroupRaise(version: .v1, maxHold: .seconds(60), maxReasserts: 1)
        let pod = Self.pod(containerID: tree.containerID)
        _ = direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 300)
        try tree.set(tree.pod, 200)
        direct.reassert(landed: { _, _ in false }, refused: { _ in false })
        #expect(tree.limit(tree.pod) == 300)
        // A later raise in the same episode (the resize has not landed) does not reset the count.
        #expect(direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 400) != nil)
        #expect(direct.held.values.first?.reasserts == 1)
        try tree.set(tree.pod, 200)
        direct.reassert(landed: { _, _ in false }, refused: { _ in false })
        #expect(direct.held.isEmpty && tree.limit(tree.pod) == 200 && tree.limit(tree.container) == 200)
        // Resting: the next push does not raise directly (the API path still carries the decision).
        #expect(direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 500) == nil)
        #expect(tree.limit(tree.pod) == 200)
        // A raise neither rewritten nor landed is not given back for its count alone.
        let other = try Tree(millicores: 200)
        _ = direct.raise(pod: "shop/api", object: Self.pod(containerID: other.containerID), podCgroupPath: other.pod, millicores: 300)
        for _ in 0..<3 { direct.reassert(landed: { _, _ in false }, refused: { _ in false }) }
        #expect(direct.held.count == 1 && other.limit(other.pod) == 300)
    }

    @Test("a lower decision before the resize landed: the held cgroups follow it down (containers first); at or below the kubelet's values, those come back and the hold ends")
    func lowerFollows() throws {
        let tree = try Tree(millicores: 200)
        let direct = DirectCgroupRaise(version: .v1)
        let pod = Self.pod(containerID: tree.containerID)
        _ = direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 500)
        direct.lower(pod: "shop/web", object: pod, millicores: 300)
        #expect(tree.limit(tree.pod) == 300 && tree.limit(tree.container) == 300)
        #expect(direct.held.values.first?.decided == 300)
        direct.lower(pod: "shop/web", object: pod, millicores: 150)
        #expect(tree.limit(tree.pod) == 200 && tree.limit(tree.container) == 200)
        #expect(direct.held.isEmpty)
        // Not resting: a normal end, the next push may raise directly again.
        #expect(direct.raise(pod: "shop/web", object: pod, podCgroupPath: tree.pod, millicores: 400) != nil)
    }
}
