import Controller
import Foundation
import KubeAPIFixture
import KubernetesClient
import TestSupport
import Testing

/// What a real cluster's admission and status rules do to resizes: ResourceQuota and
/// LimitRanger answer `pods/resize` with 403, status writes race the agent's spec writes, and a
/// 1.33 kubelet's conditions carry no generation.
@Suite("controller: admission refusals, status races, 1.33 kubelets", .timeLimit(.minutes(1)))
struct AdmissionTests {
    static func quota(_ hard: [String: String]) -> JSON {
        ["metadata": ["name": "compute"], "spec": ["hard": .object(hard.mapValues { .string($0) })]]
    }

    @Test("a quota's 403 is Failed/Forbidden with the server's message, one Warning Event, and backs off instead of looping")
    func quotaForbidsWithBackoff() async throws {
        let harness = try await Harness.start()
        _ = try harness.server.store.create(.resourceQuotas, namespace: Harness.namespace, object: Self.quota(["limits.cpu": "600m"]))
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        let (service, _) = harness.runController(Harness.configuration(forbiddenBackoff: .seconds(3600)))

        #expect(try await eventually { try await harness.allocation("web").reason == "Forbidden" })
        let failed = try await harness.allocation("web")
        #expect(failed.status?.phase == .failed)
        let message = try #require(failed.status?.message)
        #expect(message.contains("exceeded quota: compute, requested: limits.cpu=250m, used: limits.cpu=500m, limited: limits.cpu=600m"),
                "\(message)")
        #expect(try await eventually { try await harness.events("web").contains { $0.reason == "ResizeForbidden" } })
        let reconciles = service.stats.reconciles
        #expect(await eventually { service.stats.reconciles >= reconciles + 5 })
        #expect(harness.requests.count("PATCH", "/pods/web/resize") == 1)  // backing off, not looping
        #expect(try await harness.events("web").filter { $0.type == "Warning" }.count == 1)
        #expect(try await harness.pod("web").specLimit() == "500m")  // the pod runs with what it had
        await harness.stop()
    }

    @Test("once the quota has room, the backed-off resize goes through")
    func quotaFreedThenApplied() async throws {
        let harness = try await Harness.start()
        let quota = try harness.server.store.create(.resourceQuotas, namespace: Harness.namespace,
                                                    object: Self.quota(["limits.cpu": "600m"]))
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        harness.runController()
        #expect(try await eventually { try await harness.allocation("web").reason == "Forbidden" })
        var raised = quota
        raised[path: ["spec", "hard", "limits.cpu"]] = "2"
        raised[path: ["metadata", "resourceVersion"]] = nil
        _ = try harness.server.store.update(.resourceQuotas, namespace: Harness.namespace, name: "compute", subresource: .main,
                                            object: raised)
        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        #expect(try await harness.pod("web").specLimit() == "750m")
        await harness.stop()
    }

    @Test("a LimitRange's maximum is a 403 too, with LimitRanger's message")
    func limitRangeForbids() async throws {
        let harness = try await Harness.start()
        _ = try harness.server.store.create(.limitRanges, namespace: Harness.namespace, object: [
            "metadata": ["name": "bounds"], "spec": ["limits": [["type": "Container", "max": ["cpu": "600m"]]]],
        ])
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        harness.runController()
        #expect(try await eventually { try await harness.allocation("web").reason == "Forbidden" })
        let message = try #require(try await harness.allocation("web").status?.message)
        #expect(message.contains("maximum cpu usage per Container is 600m, but limit is 750m"), "\(message)")
        await harness.stop()
    }

    @Test("status writes never 409 while the agent keeps rewriting the spec")
    func statusWritesDoNotConflict() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("600m"))])
        harness.runController()
        for step in 0..<40 {
            _ = try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuLimit: CPUQuantity(millicores: 600 + Int64(step % 4) * 50))])
            try await Task.sleep(for: .milliseconds(15))
        }
        #expect(try await eventually { try await harness.isApplied("web", limit: "750m") })
        #expect(harness.requests.count("PATCH", "/podallocations/web/status") > 0)
        #expect(harness.requests.count("PUT", "/status") == 0)
        #expect(harness.requests.lines { $0.contains("/status") && $0.hasSuffix(" 409") }.isEmpty)
        await harness.stop()
    }

    @Test("1.33 kubelet (no observedGeneration): a Deferred target replaced by one that fits ends Applied")
    func deferredThenReplacedOn133() async throws {
        let harness = try await Harness.start(policy: { resize in
            let limit = resize.containers.first?.limits["cpu"].flatMap { try? CPUQuantity(parsing: $0) }
            return (limit?.millicores ?? 0) > 900 ? .deferred("Node didn't have enough resource: cpu") : .accept
        }, conditionsCarryGeneration: false)
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("1"))])
        harness.runController()
        #expect(try await eventually { try await harness.allocation("web").status?.phase == .deferred })
        let condition = try #require(try await harness.pod("web").condition("PodResizePending"))
        #expect(condition.observedGeneration == nil)
        _ = try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuLimit: cpu("800m"))])
        #expect(try await eventually { try await harness.isApplied("web", limit: "800m") })
        await harness.stop()
    }
}
