import Controller
import Foundation
import KubeAPIFixture
import KubernetesClient
import TestSupport
import Testing

/// Pods a real API server refuses to resize whatever is asked (static pods' mirrors, pods with
/// pod-level resources): the test server refuses them as upstream does (422), and the
/// controller skips them up front instead of looping through PATCH → 422 → Failed.
@Suite("controller: pods that can never be resized", .timeLimit(.minutes(1)))
struct UnresizablePodTests {
    @Test("the test server refuses pods/resize of a static pod's mirror and of a pod with pod-level resources (422)")
    func serverRefuses() async throws {
        let harness = try await Harness.start()
        _ = try await harness.createPod("static", containers: [Harness.container()],
                                        annotations: [Pod.mirrorAnnotation: "3f1c9ad2"])
        _ = try await harness.createPod("budget", containers: [Harness.container()]) {
            $0.spec.resources = ResourceRequirements(requests: ["cpu": "500m"], limits: ["cpu": "1"])
        }
        let pods = harness.client.resources(Pod.self, namespace: Harness.namespace)
        let patch = #"{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"750m"}}}]}}"#
        for (name, text) in [("static", "static pods cannot be resized"), ("budget", "pod-level resources")] {
            do {
                _ = try await pods.patch(name, .strategicMerge, body: Array(patch.utf8), subresource: "resize")
                Issue.record("the resize of \(name) was accepted")
            } catch {
                #expect(error.httpStatus == 422)
                #expect(error.message.contains(text), "\(error.message)")
            }
        }
        await harness.stop()
    }

    @Test("the controller skips them with the reason and never sends pods/resize, however many decisions come")
    func controllerSkips() async throws {
        let harness = try await Harness.start()
        let mirror = try await harness.createPod("static", containers: [Harness.container()],
                                                 annotations: [Pod.mirrorAnnotation: "3f1c9ad2"])
        let budget = try await harness.createPod("budget", containers: [Harness.container()]) {
            $0.spec.resources = ResourceRequirements(limits: ["cpu": "1"])
        }
        try await harness.allocate(mirror, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        try await harness.allocate(budget, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        let (service, _) = harness.runController()
        for (name, reason) in [("static", "StaticPod"), ("budget", "PodLevelResources")] {
            #expect(try await eventually { try await harness.allocation(name).status?.phase == .skipped })
            #expect(try await harness.allocation(name).reason == reason)
        }
        _ = try await harness.reallocate("static", [ContainerAllocation(name: "app", cpuLimit: cpu("900m"))])
        #expect(try await eventually { try await harness.allocation("static").status?.observedGeneration == 2 })
        #expect(try await harness.allocation("static").status?.phase == .skipped)
        let reconciles = service.stats.reconciles
        #expect(await eventually { service.stats.reconciles >= reconciles + 4 })
        #expect(harness.requests.count("PATCH", "/resize") == 0)
        await harness.stop()
    }
}
