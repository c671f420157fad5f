import Cgroups
import Foundation
import KubeAPIFixture
import KubernetesClient
import TestSupport
import Testing

/// A request resize the kubelet defers, end to end: real agent and controller binaries, the test
/// API server, and the kubelet stand-in admitting resizes as the kubelet does for the Node's
/// allocatable cpu (the pod's new requests against what the node's other pods hold).
extension KubernetesEndToEndTests {
    /// `direct`: with `--direct-cgroup-raise` (and the kubelet's pod sync), a weight raise written
    /// straight into the cgroup is given back once the kubelet defers the resize.
    @Test("--actuation weights: a request raise that does not fit the node is Deferred (status and a ResizeDeferred Event with the kubelet's words, the pod's cgroup keeps what the kubelet admitted), then lands when a pod leaves and room frees up",
          arguments: [false, true])
    func deferredRequestLandsWhenRoomFrees(direct: Bool) async throws {
        // The kubelet admits 1000m; the operator's --capacity tells the agent 2000m, so its raise of
        // web's request toward its 900m cap fits the agent's budget but not the 700m that idle
        // (100m) and gold (200m, Guaranteed) leave on the node.
        let node = try await Node(pods: ["web", "idle", "gold"], guaranteed: ["gold"],
                                  annotations: ["web": ["mbcas.io/class": "batch", "mbcas.io/cpu-cap": "900m"]],
                                  kubeletSync: direct, allocatableMillicores: 1000)
        do {
            try node.startAgentAndController(agentArguments: ["--actuation", "weights", "--capacity", "2000", "--reserve", "100"]
                                             + (direct ? ["--direct-cgroup-raise"] : []))
            let pods = node.client.resources(Pod.self, namespace: "shop")
            let allocations = node.client.resources(PodAllocation.self, namespace: "shop")
            let request = Node.request, actuatedRequest = Node.actuatedRequest
            let burner = try node.burn("web")
            defer { burner.stop() }

            var last = ""
            let deferred = await eventually(timeout: .seconds(60)) {
                let allocation = try? await allocations.get("web")
                last = "phase \(allocation?.status?.phase?.rawValue ?? "-"): \(allocation?.status?.message ?? "")"
                return allocation?.status?.phase == .deferred
            }
            #expect(deferred, "the raise was never deferred (\(last)):\n\(node.logs)")
            let deferredAt = ContinuousClock.now
            let allocation = try await allocations.get("web")
            let message = allocation.status?.message ?? ""
            #expect(message.contains("Node didn't have enough resource: cpu, requested: ") && message.contains("capacity: 1000"), "\(message)")
            // The Event says it too, in the kubelet's words.
            let event = await eventually(timeout: .seconds(10)) {
                ((try? await node.client.resources(Event.self, namespace: "shop").listAll().items) ?? []).contains {
                    $0.involvedObject.name == "web" && $0.reason == "ResizeDeferred" && $0.type == "Normal"
                        && $0.message?.contains("Node didn't have enough resource") == true
                }
            }
            #expect(event, "no ResizeDeferred Event:\n\(node.logs)")
            // What the pod runs with: the request the kubelet admitted, below the deferred one, and its weight in the cgroup.
            let web = try await pods.get("web")
            let asked = try #require(request(web)), running = try #require(actuatedRequest(web))
            #expect(running < asked, "spec request \(asked)m, running \(running)m")
            let admitted = await eventually(timeout: .seconds(5)) { (try? node.cgroupShares("web")) == Node.kubeletShares(running) }
            #expect(admitted, "the cgroup runs \((try? node.cgroupShares("web")).map(String.init) ?? "-") shares, not the \(Node.kubeletShares(running)) the kubelet admitted:\n\(node.logs)")
            #expect(node.log("agent").contains("the kubelet deferred the pod's resize"), "the agent did not take the deferral in:\n\(node.logs)")
            let directRaise = allocation.metadata.annotations?[PodAllocationWriterAnnotation.direct].flatMap { $0 == "0" ? nil : $0 }
            print("deferred\(direct ? " (--direct-cgroup-raise; a direct raise for this decision: \(directRaise == nil ? "none" : "written"))" : ""): "
                  + "web asked for request \(asked)m, runs with \(running)m (cpu.shares \(try node.cgroupShares("web"))): \(message)")

            // Room frees up: gold leaves the node. The kubelet retries the deferred resize, which lands.
            try await pods.delete("gold")
            let landed = await eventually(timeout: .seconds(60)) {
                let web = try? await pods.get("web")
                let allocation = try? await allocations.get("web")
                let shares = try? node.cgroupShares("web")
                last = "phase \(allocation?.status?.phase?.rawValue ?? "-"), request \(request(web).map(String.init) ?? "-") "
                    + "actuated \(actuatedRequest(web).map(String.init) ?? "-") shares \(shares.map(String.init) ?? "-")"
                guard let asked = request(web), asked >= running + 1, allocation?.status?.phase == .applied else { return false }
                return actuatedRequest(web) == asked && shares == Node.kubeletShares(asked)
            }
            #expect(landed, "the deferred resize did not land once room freed up (\(last)):\n\(node.logs)")
            let final = try await pods.get("web")
            print("room freed: the deferred resize landed in \(ContinuousClock.now - deferredAt) after the deferral was seen; "
                  + "web request \(request(final).map(String.init) ?? "-")m, cpu.shares \((try? node.cgroupShares("web")).map(String.init) ?? "-")")
            if ProcessInfo.processInfo.environment["MBCAS_E2E_LOGS"] != nil { print(node.logs) }
            let refused = try await allocations.listAll().items.filter { [.failed, .infeasible].contains($0.status?.phase) }
            #expect(refused.isEmpty, "resizes refused: \(refused.map { "\($0.metadata.name): \($0.status?.message ?? "")" })")
            burner.stop()
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }
}
