import Cgroups
import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import Market
@testable import NodeAgent
@testable import NodeAgentKubernetes
import Synchronization
import TestSupport
import Testing

/// Kubernetes mode's parts without the kernel: pod discovery by UID in a kubelet-shaped tree,
/// the container split, and the PodAllocation writer against the loopback API server.
@Suite("Kubernetes mode: inventory and PodAllocation writer")
struct KubernetesModeTests {
    static func pod(_ name: String, containers: [(String, String?, String?)], annotations: [String: String]? = nil) -> Pod {
        var metadata = ObjectMeta(name: name, namespace: "shop")
        metadata.annotations = annotations
        return Pod(metadata: metadata, spec: PodSpec(nodeName: "node-a", containers: containers.map { name, request, limit in
            var requests: [String: String] = ["memory": "64Mi"]
            var limits: [String: String] = [:]
            if let request { requests["cpu"] = request }
            if let limit { limits["cpu"] = limit }
            return Container(name: name, image: "x", resources: ResourceRequirements(requests: requests, limits: limits.isEmpty ? nil : limits))
        }))
    }

    static func client(_ server: FakeKubeAPIServer) -> APIClient {
        APIClient(configuration: ClusterConfiguration(server: server.baseURL),
                  retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10)), requestTimeout: .seconds(5),
                  logger: Logger(label: "test"))
    }

    @Test("container split: requests kept, the rest shared by burst room, sum exact")
    func split() throws {
        let pod = Self.pod("web", containers: [("app", "200m", "600m"), ("sidecar", "100m", "200m")])
        let up = try #require(ContainerSplit.split(podLimit: 1300, containers: pod.spec.containers))
        #expect(up.map(\.cpuLimit.millicores) == [200 + 800, 100 + 200])  // room 400:100 → 800:200
        #expect(up.allSatisfy { $0.cpuRequest == nil })
        let down = try #require(ContainerSplit.split(podLimit: 300, containers: pod.spec.containers))
        #expect(down.map(\.cpuLimit.millicores) == [200, 100])  // never below a request
        let odd = try #require(ContainerSplit.split(podLimit: 1001, containers: pod.spec.containers))
        #expect(odd.reduce(0) { $0 + $1.cpuLimit.millicores } == 1001)
        #expect(ContainerSplit.split(podLimit: 500, containers: Self.pod("x", containers: [("a", "1", nil)]).spec.containers) == nil)
    }

    @Test("settings: floor = requests, cap from annotation, Guaranteed kept, pods without CPU limits left out")
    func settings() {
        let defaults = AgentConfiguration.PodSettings(floor: 100, cap: 2000, weight: 1, qos: .burstable)
        let burstable = KubernetesPodInventory.settings(
            for: Self.pod("a", containers: [("app", "250m", "1"), ("side", "50m", "100m")],
                          annotations: [KubernetesPodInventory.capAnnotation: "1500m", KubernetesPodInventory.weightAnnotation: "2"]),
            defaults: defaults)
        #expect(burstable == AgentConfiguration.PodSettings(floor: 300, cap: 1500, weight: 2, qos: .burstable))
        var guaranteed = Self.pod("g", containers: [("app", "500m", "500m")])
        guaranteed.status = PodStatus(qosClass: "Guaranteed")
        #expect(KubernetesPodInventory.settings(for: guaranteed, defaults: defaults)?.qos == .guaranteed)
        #expect(KubernetesPodInventory.settings(for: Self.pod("n", containers: [("app", "250m", nil)]), defaults: defaults) == nil)
        let big = KubernetesPodInventory.settings(for: Self.pod("b", containers: [("app", "3", "4")]), defaults: defaults)
        #expect(big?.cap == 4000)  // without an annotation, never below the owner's own limit
        let annotated = KubernetesPodInventory.settings(
            for: Self.pod("c", containers: [("app", "3", "4")], annotations: [KubernetesPodInventory.capAnnotation: "1"]), defaults: defaults)
        #expect(annotated?.cap == 3000)  // an annotation may lower it, but never below the floor
    }

    @Test("effective pod CPU: sidecars and overhead counted, a sidecar without a limit or an unresizable pod left out, with why")
    func effectivePodCPU() throws {
        let defaults = AgentConfiguration.PodSettings(floor: 100, cap: 500, weight: 1, qos: .burstable)
        var pod = Self.pod("web", containers: [("app", "250m", "1")])
        let proxy = Container(name: "proxy", resources: ResourceRequirements(requests: ["cpu": "50m", "memory": "16Mi"],
                                                                             limits: ["cpu": "200m"]), restartPolicy: "Always")
        pod.spec.initContainers = [proxy]
        pod.spec.overhead = ["cpu": "100m"]
        let settings = try KubernetesPodInventory.eligibility(of: pod, defaults: defaults).get()
        #expect(settings.floor == 250 + 50 + 100)
        #expect(settings.cap == 1000 + 200 + 100)  // the pod cgroup's limit, as the kubelet sets it
        // The agent decides the pod cgroup; the app container gets what the sidecar and overhead leave.
        #expect(ContainerSplit.split(podLimit: 1500, spec: pod.spec)?.map(\.cpuLimit.millicores) == [1200])

        var unlimitedSidecar = pod
        unlimitedSidecar.spec.initContainers = [Container(name: "proxy", restartPolicy: "Always")]
        guard case .failure(let why) = KubernetesPodInventory.eligibility(of: unlimitedSidecar, defaults: defaults) else {
            Issue.record("a pod whose cgroup is unlimited was managed")
            return
        }
        #expect(why.text.contains("container proxy has no CPU limit"))
        var mirror = Self.pod("kube-proxy", containers: [("app", "100m", "200m")])
        mirror.metadata.annotations = [Pod.mirrorAnnotation: "abc"]
        #expect(KubernetesPodInventory.settings(for: mirror, defaults: defaults) == nil)
        var budget = Self.pod("budget", containers: [("app", "100m", "200m")])
        budget.spec.resources = ResourceRequirements(limits: ["cpu": "1"])
        guard case .failure(let budgetWhy) = KubernetesPodInventory.eligibility(of: budget, defaults: defaults) else {
            Issue.record("a pod with pod-level resources was managed")
            return
        }
        #expect(budgetWhy.text.contains("pod-level resources"))
    }

    @Test("inventory: this node's pods found by UID under both kubelet drivers; others and unlimited pods skipped")
    func inventory() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = Self.client(server)
        let pods = client.resources(Pod.self, namespace: "shop")
        let web = try await pods.create(Self.pod("web", containers: [("app", "250m", "500m")]))
        let api = try await pods.create(Self.pod("api", containers: [("app", "100m", "300m")]))
        let free = try await pods.create(Self.pod("free", containers: [("app", "100m", nil)]))
        var elsewhere = Self.pod("elsewhere", containers: [("app", "100m", "200m")])
        elsewhere.spec.nodeName = "node-b"
        let other = try await pods.create(elsewhere)

        let root = NSTemporaryDirectory() + "mbcas-kubelet-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let container = String(repeating: "ab", count: 32)
        for (uid, driver) in [(web.metadata.uid!, CgroupDriver.systemd), (api.metadata.uid!, .cgroupfs),
                              (free.metadata.uid!, .systemd), (other.metadata.uid!, .cgroupfs)] {
            let path = KubeletPath.format(podUID: uid, qos: .burstable, driver: driver, containerID: container)
            try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
        }
        let inventory = KubernetesPodInventory(client: client, nodeName: "node-a", defaults: .init(), logger: Logger(label: "test"))
        let informer = Task { await inventory.informer.run { _ in } }
        #expect(await eventually { inventory.informer.hasSynced })
        let hierarchy = CgroupHierarchy(version: .v1, mountPoint: root)
        let found = try inventory.pods(index: try CgroupIndex(mountPoint: root), hierarchy: hierarchy)
        #expect(found.map(\.name).sorted() == ["shop/api", "shop/web"])
        let webPath = root + KubeletPath.format(podUID: web.metadata.uid!, qos: .burstable, driver: .systemd)
        #expect(found.first { $0.name == "shop/web" }?.cgroupPath == webPath)
        #expect(found.first { $0.name == "shop/web" }?.settings.floor == 250)
        informer.cancel()
        await informer.value
        await server.shutdown()
    }

    @Test("writer: decisions coalesce per pod (latest wins), become owner-referenced PodAllocations; the hot-path call does no I/O")
    func writerCoalesces() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = Self.client(server)
        let pod = try await client.resources(Pod.self, namespace: "shop").create(
            Self.pod("web", containers: [("app", "250m", "500m")]))
        let informer = Informer(client.resources(Pod.self), logger: Logger(label: "test"))
        let informerTask = Task { await informer.run { _ in } }
        #expect(await eventually { informer.hasSynced })
        let writer = PodAllocationWriter(client: client, pods: informer, nodeName: "node-a", files: CgroupActuator(version: .v1),
                                         minInterval: .seconds(1), logger: Logger(label: "test"))
        for limit in [600, 700, 800] {
            try writer.apply(LimitChange(pod: "shop/web", cgroupPath: "/cg/web", oldMillicores: limit - 100, newMillicores: limit,
                                         reason: .guardrail, stallTimestamp: 1))
        }
        #expect(try writer.currentLimit(cgroupPath: "/cg/web") == 800)  // the agent's intent, at once
        let runner = Task { await writer.run() }
        let allocations = client.resources(PodAllocation.self, namespace: "shop")
        #expect(await eventually { (try? await allocations.get("web"))?.spec.containers.first?.cpuLimit.millicores == 800 })
        #expect(writer.writes == 1)
        let written = try await allocations.get("web")
        #expect(written.spec.podUID == pod.metadata.uid)
        #expect(written.spec.reason == "guardrail")
        #expect(written.metadata.ownerReferences?.first?.uid == pod.metadata.uid)
        #expect(written.metadata.annotations?[PodAllocationWriter.stallAnnotation] == "1")

        // Within the rate limit: the next two decisions wait and only the later one is written.
        try writer.apply(LimitChange(pod: "shop/web", cgroupPath: "/cg/web", oldMillicores: 800, newMillicores: 900, reason: .contention,
                                     shadowPrice: 0.5))
        try writer.apply(LimitChange(pod: "shop/web", cgroupPath: "/cg/web", oldMillicores: 900, newMillicores: 950, reason: .contention,
                                     shadowPrice: 0.7))
        #expect(await eventually { (try? await allocations.get("web"))?.spec.containers.first?.cpuLimit.millicores == 950 })
        #expect(writer.writes == 2)
        #expect(try await allocations.get("web").spec.shadowPrice == 0.7)
        runner.cancel()
        informerTask.cancel()
        await server.shutdown()
    }

    /// The loopback server with `pods` created, a synced pod informer and a running writer.
    struct WriterRig {
        let server: FakeKubeAPIServer
        let client: APIClient
        let writer: PodAllocationWriter
        let tasks: [Task<Void, Never>]

        static func start(pods: [Pod], minInterval: Duration = .milliseconds(10)) async throws -> WriterRig {
            let server = try await FakeKubeAPIServer.start()
            let client = KubernetesModeTests.client(server)
            for pod in pods { _ = try await client.resources(Pod.self, namespace: "shop").create(pod) }
            let informer = Informer(client.resources(Pod.self), logger: Logger(label: "test"))
            let informerTask = Task { await informer.run { _ in } }
            #expect(await eventually { informer.hasSynced })
            let writer = PodAllocationWriter(client: client, pods: informer, nodeName: "node-a", files: CgroupActuator(version: .v1),
                                             minInterval: minInterval, logger: Logger(label: "test"))
            return WriterRig(server: server, client: client, writer: writer, tasks: [informerTask, Task { await writer.run() }])
        }

        var allocations: ResourceClient<PodAllocation> { client.resources(PodAllocation.self, namespace: "shop") }

        func stop() async {
            for task in tasks { task.cancel() }
            await server.shutdown()
        }
    }

    @Test("over-commit: a decision with an infinite shadow price is written, the over-commit said explicitly")
    func overcommittedDecisionIsWritten() async throws {
        let rig = try await WriterRig.start(pods: [Self.pod("web", containers: [("app", "250m", "500m")])])
        // The market's answer when even the floors do not fit: price +infinity (JSON has no such number).
        try rig.writer.apply(LimitChange(pod: "shop/web", cgroupPath: "/cg/web", oldMillicores: 500, newMillicores: 200,
                                         reason: .reclaim, shadowPrice: .infinity, overcommit: .floors))
        #expect(await eventually { (try? await rig.allocations.get("web"))?.spec.overcommit == "floors" })
        let written = try await rig.allocations.get("web")
        #expect(written.spec.shadowPrice == nil)
        #expect(written.spec.containers.first?.cpuLimit.millicores == 250)  // never below the request
        #expect(rig.writer.pendingCount == 0)
        await rig.stop()
    }

    @Test("a refused decision (403, Infeasible, Skipped) drops the agent's intent: it reads the pod's real limit again")
    func refusalReturnsToRealLimit() async throws {
        let rig = try await WriterRig.start(pods: [Self.pod("web", containers: [("app", "250m", "500m")])])
        let cgroup = NSTemporaryDirectory() + "mbcas-writer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: cgroup) }
        // What the kubelet set: 50 ms per 100 ms.
        try "50000\n".write(toFile: cgroup + "/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
        try "100000\n".write(toFile: cgroup + "/cpu.cfs_period_us", atomically: false, encoding: .utf8)
        try rig.writer.apply(LimitChange(pod: "shop/web", cgroupPath: cgroup, oldMillicores: 500, newMillicores: 750, reason: .guardrail))
        #expect(try rig.writer.currentLimit(cgroupPath: cgroup) == 750)
        #expect(await eventually { (try? await rig.allocations.get("web")) != nil && rig.writer.pendingCount == 0 })
        var answered = try await rig.allocations.get("web")
        answered.status = PodAllocationStatus(phase: .pending, observedGeneration: answered.metadata.generation)
        #expect(!rig.writer.observe(answered))  // not refused (yet)
        answered.status = PodAllocationStatus(phase: .failed, observedGeneration: (answered.metadata.generation ?? 1) - 1,
                                              message: "about an older decision")
        #expect(!rig.writer.observe(answered))
        answered.status = PodAllocationStatus(phase: .failed, observedGeneration: answered.metadata.generation,
                                              message: "pods \"web\" is forbidden: exceeded quota: compute")
        #expect(rig.writer.observe(answered))
        #expect(try rig.writer.currentLimit(cgroupPath: cgroup) == 500)  // the pod's real limit
        #expect(!rig.writer.observe(answered))  // once
        await rig.stop()
    }

    @Test("API outage: nothing piles up; when the server is back every pod's latest decision is written")
    func outage() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = Self.client(server)
        for name in ["a", "b"] {
            _ = try await client.resources(Pod.self, namespace: "shop").create(Self.pod(name, containers: [("app", "100m", "200m")]))
        }
        let informer = Informer(client.resources(Pod.self), logger: Logger(label: "test"))
        let informerTask = Task { await informer.run { _ in } }
        #expect(await eventually { informer.hasSynced })
        let writer = PodAllocationWriter(client: client, pods: informer, nodeName: "node-a", files: CgroupActuator(version: .v1),
                                         minInterval: .milliseconds(10), logger: Logger(label: "test"))
        let runner = Task { await writer.run() }
        await server.shutdown()
        for step in 1...50 {
            for name in ["a", "b"] {
                try writer.apply(LimitChange(pod: "shop/\(name)", cgroupPath: "/cg/\(name)", oldMillicores: 200,
                                             newMillicores: 200 + step * 10, reason: .contention))
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(writer.pendingCount <= 2)  // one per pod, however many decisions
        #expect(writer.writes == 0)
        let restarted = try await FakeKubeAPIServer.start(store: server.store, port: server.port)
        let allocations = client.resources(PodAllocation.self, namespace: "shop")
        for name in ["a", "b"] {
            #expect(await eventually(timeout: .seconds(20)) {
                (try? await allocations.get(name))?.spec.containers.first?.cpuLimit.millicores == 700
            })
        }
        #expect(writer.pendingCount == 0)
        runner.cancel()
        informerTask.cancel()
        await restarted.shutdown()
    }
}
