import Cgroups
import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import Market
@testable import NodeAgent
@testable import NodeAgentKubernetes
import TestSupport
import Testing

/// Weights actuation in Kubernetes mode without the kernel: a weight decision becomes the pod's
/// CPU request in its PodAllocation (merged with its limit), split over containers the way the
/// API server will accept, and the inventory's floors, classes and the node's other requests.
@Suite("Kubernetes mode: weights as requests")
struct KubernetesWeightsTests {
    typealias Mode = KubernetesModeTests

    @Test("request split: sidecars and overhead kept out, requests ≤ limits, a Burstable pod never made Guaranteed")
    func requestSplit() throws {
        var pod = Mode.pod("web", containers: [("app", "200m", "1"), ("helper", "100m", "500m")])
        pod.spec.initContainers = [Container(name: "proxy", resources: ResourceRequirements(requests: ["cpu": "50m"], limits: ["cpu": "100m"]),
                                             restartPolicy: "Always")]
        pod.spec.overhead = ["cpu": "50m"]
        // Pod request 1000m: 900m for the regular containers (sidecar 50m, overhead 50m), shared 2:1.
        let split = try #require(ContainerSplit.split(podLimit: 1650, podRequest: 1000, spec: pod.spec))
        #expect(split.map { $0.cpuRequest?.millicores } == [600, 300])
        #expect(split.map(\.cpuLimit.millicores) == [1000, 500])
        #expect(split.allSatisfy { $0.cpuRequest!.millicores <= $0.cpuLimit.millicores })
        // A request above the limit buys nothing: clamped to it.
        let clamped = try #require(ContainerSplit.split(podLimit: 1650, podRequest: 3000, spec: pod.spec))
        #expect(clamped.map { $0.cpuRequest?.millicores } == [1000, 500])

        // cpu and memory limited, memory request = limit: cpu request = limit would make it Guaranteed.
        let tight = Pod(metadata: ObjectMeta(name: "t", namespace: "shop"), spec: PodSpec(nodeName: "node-a", containers: [
            Container(name: "app", resources: ResourceRequirements(requests: ["cpu": "100m", "memory": "64Mi"],
                                                                   limits: ["cpu": "500m", "memory": "64Mi"])),
        ]))
        let capped = try #require(ContainerSplit.split(podLimit: 500, podRequest: 800, spec: tight.spec))
        #expect(capped.first?.cpuRequest?.millicores == 499)
        // Without a request decision, none is sent (limits actuation).
        #expect(ContainerSplit.split(podLimit: 500, spec: tight.spec)?.first?.cpuRequest == nil)
    }

    @Test("writer: a weight decision becomes the pod's request (never below its floor), the limit kept, the floor recorded; Guaranteed")
    func weightBecomesRequest() async throws {
        let rig = try await Mode.WriterRig.start(pods: [Mode.pod("web", containers: [("app", "250m", "1")])])
        let change = WeightChange(pod: "shop/web", cgroupPath: "/cg/web", shares: CPUWeight(millicores: 712.6).shares,
                                  shareMillicores: 712.6, floorMillicores: 250, stallTimestamp: 7)
        try rig.writer.applyWeight(change, version: .v1)
        #expect(rig.writer.currentWeight(cgroupPath: "/cg/web", version: .v1) == CPUWeight(millicores: 712).shares)
        #expect(await eventually { (try? await rig.allocations.get("web"))?.spec.containers.first?.cpuRequest?.millicores == 712 })
        let written = try await rig.allocations.get("web")
        #expect(written.spec.containers.first?.cpuLimit.millicores == 1000)  // the limit as it is
        #expect(written.spec.cpuFloor?.millicores == 250)
        #expect(written.spec.reason == "weight")
        // A later limit decision keeps the request decided before.
        try rig.writer.apply(LimitChange(pod: "shop/web", cgroupPath: "/cg/web", oldMillicores: 1000, newMillicores: 1500, reason: .guardrail))
        #expect(await eventually { (try? await rig.allocations.get("web"))?.spec.containers.first?.cpuLimit.millicores == 1500 })
        #expect(try await rig.allocations.get("web").spec.containers.first?.cpuRequest?.millicores == 712)
        // An over-committed round's share below the floor: the request stays at the floor.
        try rig.writer.applyWeight(WeightChange(pod: "shop/web", cgroupPath: "/cg/web", shares: 100, shareMillicores: 90,
                                                floorMillicores: 250, shadowPrice: .infinity, overcommit: .floors), version: .v1)
        #expect(await eventually { (try? await rig.allocations.get("web"))?.spec.overcommit == "floors" })
        #expect(try await rig.allocations.get("web").spec.containers.first?.cpuRequest?.millicores == 250)
        await rig.stop()
    }

    @Test("the kubelet's Infeasible for a raised request drops the agent's intent: the weight is the pod's own request's again")
    func infeasibleRequestIsDropped() async throws {
        let rig = try await Mode.WriterRig.start(pods: [Mode.pod("web", containers: [("app", "250m", "1")])])
        try rig.writer.applyWeight(WeightChange(pod: "shop/web", cgroupPath: "/cg/web", shares: 1024, shareMillicores: 1000,
                                                floorMillicores: 250), version: .v1)
        #expect(rig.writer.desiredRequest(cgroupPath: "/cg/web") == 1000)
        #expect(await eventually { (try? await rig.allocations.get("web")) != nil && rig.writer.pendingCount == 0 })
        var answered = try await rig.allocations.get("web")
        answered.status = PodAllocationStatus(phase: .deferred, observedGeneration: answered.metadata.generation)
        #expect(!rig.writer.observe(answered))  // Deferred: the kubelet retries as room frees up
        #expect(rig.writer.desiredRequest(cgroupPath: "/cg/web") == 1000, "a deferred intent was dropped")
        answered.status = PodAllocationStatus(phase: .infeasible, observedGeneration: answered.metadata.generation,
                                              message: "Node didn't have enough capacity: cpu, requested: 1000, capacity: 900")
        #expect(rig.writer.observe(answered))
        #expect(rig.writer.desiredRequest(cgroupPath: "/cg/web") == nil)
        await rig.stop()
    }

    @Test("inventory: floor from mbcas.io/cpu-floor, else the recorded floor of the same pod, else its request; class from mbcas.io/class")
    func floorsAndClasses() throws {
        let defaults = AgentConfiguration.PodSettings(floor: 100, cap: 2000, weight: 1, qos: .burstable)
        // Its request was moved to 800m by an earlier decision: the floor is what its owner asked for.
        let moved = Mode.pod("web", containers: [("app", "800m", "1")], annotations: [KubernetesPodInventory.classAnnotation: "latency"])
        let settings = try KubernetesPodInventory.eligibility(of: moved, defaults: defaults, recordedFloor: 250).get()
        #expect(settings.floor == 250)
        #expect(settings.latencyClass == .latency)
        #expect(try KubernetesPodInventory.eligibility(of: moved, defaults: defaults).get().floor == 800)
        let declared = Mode.pod("web", containers: [("app", "800m", "1")],
                                annotations: [KubernetesPodInventory.floorAnnotation: "300m", KubernetesPodInventory.classAnnotation: "Batch"])
        let declaredSettings = try KubernetesPodInventory.eligibility(of: declared, defaults: defaults, recordedFloor: 250).get()
        #expect(declaredSettings.floor == 300)
        #expect(declaredSettings.latencyClass == .batch)
        let unknown = Mode.pod("web", containers: [("app", "800m", "1")], annotations: [KubernetesPodInventory.classAnnotation: "fast"])
        #expect(try KubernetesPodInventory.eligibility(of: unknown, defaults: defaults).get().latencyClass == nil)  // learned
    }

    @Test("inventory: the requests of the node's pods left out are counted against the budget")
    func othersRequests() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = Mode.client(server)
        let pods = client.resources(Pod.self, namespace: "shop")
        let managed = try await pods.create(Mode.pod("web", containers: [("app", "250m", "500m")]))
        _ = try await pods.create(Mode.pod("unlimited", containers: [("app", "300m", nil)]))
        _ = try await pods.create(Mode.pod("elsewhere", containers: [("app", "700m", nil)]).onNode("node-b"))
        let root = NSTemporaryDirectory() + "mbcas-kubelet-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + KubeletPath.format(podUID: managed.metadata.uid!, qos: .burstable, driver: .systemd),
                                                withIntermediateDirectories: true)
        let inventory = KubernetesPodInventory(client: client, nodeName: "node-a", defaults: .init(), logger: Logger(label: "test"))
        let informer = Task { await inventory.informer.run { _ in } }
        #expect(await eventually { inventory.informer.hasSynced })
        let found = try inventory.pods(index: try CgroupIndex(mountPoint: root), hierarchy: CgroupHierarchy(version: .v1, mountPoint: root))
        #expect(found.map(\.name) == ["shop/web"])
        #expect(inventory.othersRequestMillicores == 300)  // the unmanaged pod on this node; not the other node's
        informer.cancel()
        await informer.value
        await server.shutdown()
    }
}

extension Pod {
    fileprivate func onNode(_ node: String) -> Pod {
        var pod = self
        pod.spec.nodeName = node
        return pod
    }
}
