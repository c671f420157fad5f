import Foundation
import KubeAPIFixture
import Synchronization
import TestSupport
import Testing

/// The kubelet stand-in: resize conditions, then the actuated resources in the pod's status.
@Suite struct KubeletStandInTests {
    let pods = "/api/v1/namespaces/default/pods"
    let resizeTo2: JSON = ["spec": ["containers": [["name": "app", "resources": ["requests": ["cpu": "2"]]]]]]

    /// A started pod on node-a, resized over HTTP to 2 CPUs.
    func startedPodResized(_ server: FakeKubeAPIServer, kubelet: KubeletStandIn) async throws {
        let client = TestClient(base: server.baseURL)
        #expect(try await client.send("POST", pods, body: pod("web")).code == 201)
        let running = try kubelet.markRunning(namespace: "default", name: "web")
        #expect(running[path: ["status", "phase"]] == "Running")
        #expect(running[path: ["status", "qosClass"]] == "Burstable")
        let statuses = running[path: ["status", "containerStatuses"]]?.array ?? []
        #expect(statuses.first?["ready"] == true)
        #expect(statuses.first?["resources"] == ["requests": ["cpu": "500m", "memory": "64Mi"]])
        let resized = try await client.send("PATCH", "\(pods)/web/resize", body: resizeTo2,
                                            contentType: "application/strategic-merge-patch+json")
        #expect(resized.code == 200)
    }

    func web(_ server: FakeKubeAPIServer) throws -> JSON {
        try server.store.get(.pods, namespace: "default", name: "web")
    }

    func condition(_ type: String, _ pod: JSON) -> JSON? {
        pod[path: ["status", "conditions"]]?.array?.first { $0["type"]?.string == type }
    }

    func actuatedCPU(_ pod: JSON) -> JSON? {
        pod[path: ["status", "containerStatuses"]]?.array?.first?[path: ["resources", "requests", "cpu"]]
    }

    /// The kubelet's admission of a resize against the node's allocatable: more than the node has
    /// is Infeasible, more than the other pods leave is Deferred until they shrink.
    @Test func allocatablePolicyDefersAndRefusesAsTheKubelet() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a",
                                     policy: KubeletStandIn.allocatable(cpuMillicores: 3000, store: server.store, nodeName: "node-a"),
                                     reevaluationInterval: .milliseconds(50))
        for (name, cpu) in [("web", "500m"), ("other", "1500m")] {
            #expect(try await client.send("POST", pods, body: pod(name, cpu: cpu)).code == 201)
            try kubelet.markRunning(namespace: "default", name: name)
        }
        func resize(_ name: String, _ cpu: String) async throws {
            let body: JSON = ["spec": ["containers": [["name": "app", "resources": ["requests": .object(["cpu": .string(cpu)])]]]]]
            #expect(try await client.send("PATCH", "\(pods)/\(name)/resize", body: body,
                                          contentType: "application/strategic-merge-patch+json").code == 200)
        }
        func pending(_ name: String) throws -> JSON? {
            condition("PodResizePending", try server.store.get(.pods, namespace: "default", name: name))
        }
        try await resize("web", "4")
        #expect(try await eventually { try pending("web")?["reason"] == "Infeasible" })
        #expect(try pending("web")?["message"] == "Node didn't have enough capacity: cpu, requested: 4000, capacity: 3000")
        try await resize("web", "2")  // 2000 + the other pod's 1500 > 3000
        #expect(try await eventually { try pending("web")?["reason"] == "Deferred" })
        #expect(try pending("web")?["message"] == "Node didn't have enough resource: cpu, requested: 2000, used: 1500, capacity: 3000")
        try await resize("other", "1")  // frees room: the deferred resize goes through
        #expect(try await eventually { actuatedCPU(try web(server)) == "2" })
        await kubelet.stop()
        await server.shutdown()
    }

    @Test func acceptShowsInProgressThenTheNewResources() async throws {
        let server = try await FakeKubeAPIServer.start()
        let gate = AsyncStream.makeStream(of: Void.self)
        let actuated = Mutex<[PodResize]>([])
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a", reevaluationInterval: .milliseconds(50)) { resize in
            actuated.withLock { $0.append(resize) }
            for await _ in gate.stream { break }
        }
        try await startedPodResized(server, kubelet: kubelet)

        #expect(try await eventually { condition("PodResizeInProgress", try web(server)) != nil })
        let inProgress = try #require(condition("PodResizeInProgress", try web(server)))
        #expect(inProgress["status"] == "True")
        #expect(inProgress["observedGeneration"] == 2)
        #expect(inProgress["lastTransitionTime"]?.string?.isEmpty == false)
        #expect(actuatedCPU(try web(server)) == "500m")
        gate.continuation.yield()

        #expect(try await eventually { actuatedCPU(try web(server)) == "2" })
        let done = try web(server)
        #expect(done[path: ["status", "containerStatuses"]]?.array?.first?["allocatedResources"] == ["cpu": "2", "memory": "64Mi"])
        #expect(done[path: ["status", "observedGeneration"]] == 2)
        #expect(condition("PodResizeInProgress", done) == nil)
        #expect(condition("PodResizePending", done) == nil)
        let calls = actuated.withLock { $0 }
        #expect(calls.count == 1)
        #expect(calls.first?.uid == done[path: ["metadata", "uid"]]?.string)
        #expect(calls.first?.containers == [ContainerResources(name: "app", requests: ["cpu": "2", "memory": "64Mi"])])
        gate.continuation.finish()
        await kubelet.stop()
        await server.shutdown()
    }

    @Test func deferredUntilThePolicyAccepts() async throws {
        let server = try await FakeKubeAPIServer.start()
        let actuations = Mutex(0)
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a", policy: { _ in .deferred("node is full") },
                                     reevaluationInterval: .seconds(60)) { _ in actuations.withLock { $0 += 1 } }
        try await startedPodResized(server, kubelet: kubelet)

        #expect(try await eventually { condition("PodResizePending", try web(server)) != nil })
        let pending = try #require(condition("PodResizePending", try web(server)))
        #expect(pending["reason"] == "Deferred")
        #expect(pending["message"] == "node is full")
        #expect(pending["status"] == "True")
        #expect(actuations.withLock { $0 } == 0)

        // Changing the policy re-evaluates at once (the interval is a minute).
        kubelet.policy = { _ in .accept }
        #expect(try await eventually { actuatedCPU(try web(server)) == "2" })
        #expect(condition("PodResizePending", try web(server)) == nil)
        #expect(actuations.withLock { $0 } == 1)
        await kubelet.stop()
        await server.shutdown()
    }

    @Test func infeasibleIsNotAskedAgainForTheSameGeneration() async throws {
        let server = try await FakeKubeAPIServer.start()
        let asked = Mutex(0)
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a", policy: { _ in
            asked.withLock { $0 += 1 }
            return .infeasible("exceeds node capacity")
        }, reevaluationInterval: .milliseconds(20))
        try await startedPodResized(server, kubelet: kubelet)

        #expect(try await eventually { condition("PodResizePending", try web(server))?["reason"] == "Infeasible" })
        #expect(condition("PodResizePending", try web(server))?["message"] == "exceeds node capacity")
        try await Task.sleep(for: .milliseconds(200))
        #expect(asked.withLock { $0 } == 1)
        #expect(actuatedCPU(try web(server)) == "500m")
        await kubelet.stop()
        await server.shutdown()
    }

    @Test func failedActuationIsReportedThenRetried() async throws {
        struct CgroupWriteFailed: Error, CustomStringConvertible {
            var description: String { "cpu.max: permission denied" }
        }
        let server = try await FakeKubeAPIServer.start()
        let failing = Mutex(true)
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a", reevaluationInterval: .milliseconds(50)) { _ in
            if failing.withLock({ $0 }) { throw CgroupWriteFailed() }
        }
        try await startedPodResized(server, kubelet: kubelet)

        #expect(try await eventually { condition("PodResizeInProgress", try web(server))?["reason"] == "Error" })
        #expect(condition("PodResizeInProgress", try web(server))?["message"] == "cpu.max: permission denied")
        #expect(actuatedCPU(try web(server)) == "500m")
        failing.withLock { $0 = false }
        #expect(try await eventually { actuatedCPU(try web(server)) == "2" })
        #expect(condition("PodResizeInProgress", try web(server)) == nil)
        await kubelet.stop()
        await server.shutdown()
    }

    @Test func onlyPodsOfItsNodeAndStartingThemOnRequest() async throws {
        let server = try await FakeKubeAPIServer.start()
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a", reevaluationInterval: .milliseconds(50),
                                     startsPendingPods: true)
        _ = try server.store.create(.pods, namespace: "default", object: pod("mine"))
        _ = try server.store.create(.pods, namespace: "default", object: pod("theirs", node: "node-b"))
        #expect(try await eventually { try server.store.get(.pods, namespace: "default", name: "mine")[path: ["status", "phase"]] == "Running" })
        #expect(try server.store.get(.pods, namespace: "default", name: "theirs")[path: ["status", "phase"]] == "Pending")
        #expect(throws: StatusError.self) { try kubelet.markRunning(namespace: "default", name: "theirs") }
        await kubelet.stop()
        await server.shutdown()
    }
}
