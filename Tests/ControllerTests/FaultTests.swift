import Controller
import Foundation
import KubeAPIFixture
import KubernetesClient
import TestSupport
import Testing

/// An API server that answers 429 and 5xx: the client retries what it can, the queue retries
/// the rest with backoff, and the allocation still converges, with one resize.
@Suite("controller: API faults", .timeLimit(.minutes(1)))
struct FaultTests {
    @Test("429 and 503 on pods/resize and on the status: retried until Applied, one Resized event")
    func retriesThroughFaults() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        // The client makes up to 6 attempts per request: 3 faults are absorbed by it; 14 on the
        // status outlast two reconciles' worth of attempts, so the queue's backoff must step in.
        harness.server.faults.inject(.tooManyRequests(retryAfterSeconds: 0), path: "/api/v1/namespaces/default/pods/web/resize", count: 3)
        harness.server.faults.inject(.serviceUnavailable,
                                     path: "/apis/mbcas.io/v1alpha1/namespaces/default/podallocations/web/status", count: 14)
        let (service, _) = harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        #expect(service.stats.errors >= 2)
        #expect(harness.requests.count("PATCH", "/pods/web/resize 200") == 1)
        #expect(harness.requests.count("PATCH", "/pods/web/resize 429") == 3)
        #expect(try await harness.pod("web").specLimit() == "750m")
        #expect(try await harness.events("web").filter { $0.reason == "Resized" }.count == 1)
        await harness.stop()
    }
}
