import KubeAPIFixture
import KubernetesClient
import Testing

@Suite("typed resource verbs against the loopback API server")
struct ResourceClientTests {
    @Test("a cluster-scoped type (nodes): get, list and a 404 without a namespace, whatever namespace the client was given")
    func clusterScoped() async throws {
        let server = try await FakeKubeAPIServer.start()
        try KubeletStandIn.registerNode(store: server.store, name: "n1", allocatableCPU: "1930m", capacityCPU: "2")
        let nodes = makeClient(server).resources(Node.self, namespace: "default")
        #expect(nodes.namespace == nil)
        let node = try await nodes.get("n1")
        #expect(node.metadata.namespace == nil)
        #expect(try node.allocatableCPU() == CPUQuantity(millicores: 1930))
        #expect(try await nodes.listAll().items.map(\.metadata.name) == ["n1"])
        do {
            _ = try await nodes.get("n2")
            Issue.record("a missing node was found")
        } catch {
            #expect(error.isNotFound && error.message.contains("nodes \"n2\" not found"))
        }
        await server.shutdown()
    }

    @Test("create, get, paginated list with label and field selectors, delete")
    func crud() async throws {
        let server = try await FakeKubeAPIServer.start()
        let pods = makeClient(server).resources(Pod.self, namespace: "default")
        for index in 0..<5 {
            let created = try await pods.create(burstablePod("web-\(index)", node: index < 3 ? "node-a" : "node-b",
                                                             labels: ["app": index.isMultiple(of: 2) ? "web" : "api"]))
            #expect(created.metadata.uid?.isEmpty == false)
            #expect(created.metadata.resourceVersion?.isEmpty == false)
        }
        let fetched = try await pods.get("web-1")
        #expect(try fetched.spec.containers[0].resources?.cpuLimit() == CPUQuantity(millicores: 500))

        let firstPage = try await pods.list(ListOptions(limit: 2))
        #expect(firstPage.items.count == 2)
        #expect(firstPage.metadata.continue?.isEmpty == false)
        let all = try await pods.listAll(ListOptions(limit: 2))
        #expect(all.items.map(\.metadata.name).sorted() == (0..<5).map { "web-\($0)" })
        #expect(!all.resourceVersion.isEmpty)

        let onNodeA = try await pods.listAll(ListOptions(fieldSelector: "spec.nodeName=node-a"))
        #expect(Set(onNodeA.items.map(\.metadata.name)) == ["web-0", "web-1", "web-2"])
        let webOnNodeA = try await pods.listAll(ListOptions(labelSelector: "app=web", fieldSelector: "spec.nodeName=node-a"))
        #expect(Set(webOnNodeA.items.map(\.metadata.name)) == ["web-0", "web-2"])
        let notWeb = try await pods.listAll(ListOptions(labelSelector: "app!=web"))
        #expect(Set(notWeb.items.map(\.metadata.name)) == ["web-1", "web-3"])

        try await pods.delete("web-4")
        do {
            _ = try await pods.get("web-4")
            Issue.record("deleted pod still there")
        } catch {
            #expect(error.isNotFound && error.reason == "NotFound")
        }
        await server.shutdown()
    }

    @Test("update with optimistic concurrency: a stale write is a 409; update(name) re-reads and retries")
    func conflict() async throws {
        let server = try await FakeKubeAPIServer.start()
        let allocations = makeClient(server).resources(PodAllocation.self, namespace: "default")
        let created = try await allocations.create(PodAllocation(
            metadata: ObjectMeta(name: "web"),
            spec: PodAllocationSpec(podName: "web", podUID: "u1", containers: [ContainerAllocation(name: "app", cpuLimit: CPUQuantity(millicores: 500))])))
        var first = created, second = created
        first.spec.reason = "guardrail"
        _ = try await allocations.update(first)
        second.spec.reason = "contention"
        do {
            _ = try await allocations.update(second)
            Issue.record("stale update accepted")
        } catch {
            #expect(error.isConflict && error.httpStatus == 409)
        }

        // Another writer changes the object between our read and our write, once: the helper
        // gets a 409, re-reads and re-applies its change on top of the other writer's.
        var calls = 0
        let updated = try await allocations.update("web") { (object: inout PodAllocation) throws(KubernetesError) in
            calls += 1
            if calls == 1 {
                var live = try! server.store.get(.podAllocations, namespace: "default", name: "web")
                live[path: ["spec", "shadowPrice"]] = .int(9)
                _ = try! server.store.update(.podAllocations, namespace: "default", name: "web", subresource: .main, object: live)
            }
            object.spec.containers[0].cpuLimit = CPUQuantity(millicores: 750)
        }
        #expect(calls == 2)
        #expect(updated.spec.shadowPrice == 9)
        #expect(updated.spec.containers[0].cpuLimit == CPUQuantity(millicores: 750))
        await server.shutdown()
    }

    @Test("status subresource: only status changes; the main resource ignores status")
    func status() async throws {
        let server = try await FakeKubeAPIServer.start()
        let allocations = makeClient(server).resources(PodAllocation.self, namespace: "default")
        var object = try await allocations.create(PodAllocation(
            metadata: ObjectMeta(name: "web"),
            spec: PodAllocationSpec(podName: "web", podUID: "u1", containers: [ContainerAllocation(name: "app", cpuLimit: CPUQuantity(millicores: 500))])))
        object.status = PodAllocationStatus(phase: .applied, observedGeneration: object.metadata.generation)
        object.spec.reason = "ignored by /status"
        let afterStatus = try await allocations.updateStatus(object)
        #expect(afterStatus.status?.phase == .applied)
        #expect(afterStatus.spec.reason == nil)
        await server.shutdown()
    }

    @Test("patch types: JSON merge, JSON patch, strategic merge (containers by name), server-side apply")
    func patches() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = makeClient(server)
        let pods = client.resources(Pod.self, namespace: "default")
        var pod = burstablePod("web")
        pod.spec.containers.append(Container(name: "sidecar", image: "envoy",
                                             resources: ResourceRequirements(requests: ["cpu": "100m"], limits: ["cpu": "200m"])))
        _ = try await pods.create(pod)

        let merged = try await pods.patch("web", .merge, ["metadata": ["labels": ["tier": "front"]]] as JSONValue)
        #expect(merged.metadata.labels?["tier"] == "front")

        let jsonPatched = try await pods.patch("web", .json, [
            JSONPatchOperation.test("/spec/containers/1/name", "sidecar"),
            JSONPatchOperation.add("/metadata/annotations", ["mbcas.io/note": "x"]),
        ])
        #expect(jsonPatched.metadata.annotations?["mbcas.io/note"] == "x")

        // Strategic merge on pods/resize: only the named container changes, the other stays.
        let resized = try await pods.patch("web", .strategicMerge, [
            "spec": ["containers": [["name": "sidecar", "resources": ["limits": ["cpu": "300m"]]]]],
        ] as JSONValue, subresource: "resize")
        #expect(resized.spec.containers.map(\.name) == ["app", "sidecar"])
        #expect(resized.spec.containers[1].resources?.limits?["cpu"] == "300m")
        #expect(resized.spec.containers[0].resources?.limits?["cpu"] == "500m")

        let allocations = client.resources(PodAllocation.self, namespace: "default")
        let intent = PodAllocation(metadata: ObjectMeta(name: "web"),
                                   spec: PodAllocationSpec(podName: "web", podUID: "u1",
                                                           containers: [ContainerAllocation(name: "app", cpuLimit: CPUQuantity(millicores: 600))]))
        let applied = try await allocations.patch("web", .apply(fieldManager: "mbcas-agent", force: true), intent)
        #expect(applied.spec.containers[0].cpuLimit == CPUQuantity(millicores: 600))
        var changed = intent
        changed.spec.containers[0].cpuLimit = CPUQuantity(millicores: 700)
        let reapplied = try await allocations.patch("web", .apply(fieldManager: "mbcas-agent", force: true), changed)
        #expect(reapplied.spec.containers[0].cpuLimit == CPUQuantity(millicores: 700))
        #expect(reapplied.metadata.uid == applied.metadata.uid)
        await server.shutdown()
    }

    @Test("pods/resize: a QoS-changing resize is a 422 whose message is the API's")
    func resizeInvalid() async throws {
        let server = try await FakeKubeAPIServer.start()
        let pods = makeClient(server).resources(Pod.self, namespace: "default")
        _ = try await pods.create(burstablePod("web"))
        do {
            // requests = limits for cpu and memory would make the pod Guaranteed.
            _ = try await pods.patch("web", .strategicMerge, [
                "spec": ["containers": [["name": "app", "resources": [
                    "requests": ["cpu": "500m", "memory": "64Mi"], "limits": ["cpu": "500m", "memory": "64Mi"],
                ]]]],
            ] as JSONValue, subresource: "resize")
            Issue.record("QoS change accepted")
        } catch {
            #expect(error.isInvalid && error.reason == "Invalid")
            #expect(error.message.contains("QOS"))
            #expect(!error.isRetryable)
        }
        await server.shutdown()
    }

    @Test("retries: 429 with Retry-After waits that long; 503 and 500 are retried; a spent budget throws the last error")
    func retries() async throws {
        let server = try await FakeKubeAPIServer.start()
        let pods = makeClient(server).resources(Pod.self, namespace: "default")
        _ = try await pods.create(burstablePod("web"))
        let path = "/api/v1/namespaces/default/pods/web"

        server.faults.inject(.tooManyRequests(retryAfterSeconds: 1), path: path, count: 1)
        let started = ContinuousClock.now
        _ = try await pods.get("web")
        #expect(ContinuousClock.now - started >= .seconds(1))

        server.faults.inject(.serviceUnavailable, path: path, count: 2)
        #expect(try await pods.get("web").metadata.name == "web")
        server.faults.inject(.internalError, path: path, count: 1)
        #expect(try await pods.get("web").metadata.name == "web")

        let impatient = makeClient(server, retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10)))
            .resources(Pod.self, namespace: "default")
        server.faults.inject(.serviceUnavailable, path: path, count: 5)
        do {
            _ = try await impatient.get("web")
            Issue.record("expected the 503 to surface")
        } catch {
            #expect(error.httpStatus == 503 && error.isRetryable)
        }
        await server.shutdown()
    }
}
