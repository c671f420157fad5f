import Cgroups
import Foundation
import KubeAPIFixture
import KubernetesClient
import QoS
import TestSupport
import Testing

/// Weights actuation in Kubernetes mode, end to end: the market's shares become the pods' CPU
/// requests (their weights, as the kubelet derives them), the caps their limits, applied in place
/// by `mbcas controller` through `pods/resize`, against a test API server holding resizes to the
/// real API's rules and a kubelet stand-in answering them as the kubelet's admission does for
/// the node's allocatable.
extension KubernetesEndToEndTests {
    /// `direct`: with `--direct-cgroup-raise`, the kubelet stand-in also playing the pod sync
    /// (rewriting quotas and weights from what it actuated, racing the direct writes).
    @Test("--actuation weights: a busy pod's request (its weight) and limit (its cap) are resized in place; Σ requests ≤ allocatable − reserve, QoS classes unchanged, Guaranteed and idle pods untouched; the weight flows back",
          arguments: [false, true])
    func weightsThroughRequests(direct: Bool) async throws {
        let allocatable: Int64 = 1000, reserve: Int64 = 100
        // web is declared batch (mbcas.io/class), so its share follows its demand down within seconds.
        let node = try await Node(pods: ["web", "idle", "gold"], guaranteed: ["gold"],
                                  annotations: ["web": ["mbcas.io/class": "batch"]], kubeletSync: direct,
                                  allocatableMillicores: allocatable)
        do {
            // No --capacity: the agent divides the Node's status.allocatable.cpu.
            try node.startAgentAndController(agentArguments: ["--actuation", "weights", "--reserve", "\(reserve)"]
                                             + (direct ? ["--direct-cgroup-raise"] : []))
            let pods = node.client.resources(Pod.self, namespace: "shop")
            let allocations = node.client.resources(PodAllocation.self, namespace: "shop")
            let request = Node.request, actuatedRequest = Node.actuatedRequest
            let limit = Node.limit

            let burner = try node.burn("web")
            defer { burner.stop() }
            // Raised: the request in the spec, what the kubelet actuated, and the weight in the cgroup agree.
            var last = ""
            let raised = await eventually(timeout: .seconds(40)) {
                let web = try? await pods.get("web")
                let shares = try? node.cgroupShares("web")
                last = "web request \(request(web).map(String.init) ?? "-") actuated \(actuatedRequest(web).map(String.init) ?? "-") "
                    + "limit \(limit(web).map(String.init) ?? "-") shares \(shares.map(String.init) ?? "-")"
                guard let asked = request(web), asked >= 300 else { return false }
                return actuatedRequest(web) == asked && shares == Node.kubeletShares(asked)
            }
            #expect(raised, "the busy pod's request was not raised through the API path (\(last)):\n\(node.logs)")

            // The pod runs with what the agent last decided, once the controller has caught up: the
            // share may still be moving when the raise is first seen (a slow machine: 400m, then 600m).
            var web = try await pods.get("web")
            var webAllocation = try await allocations.get("web")
            let caughtUp = try await eventually(timeout: .seconds(20)) {
                webAllocation = try await allocations.get("web")
                web = try await pods.get("web")
                return webAllocation.spec.containers[0].cpuRequest?.millicores == request(web)
                    && actuatedRequest(web) == request(web)
            }
            #expect(caughtUp, "PodAllocation request \(webAllocation.spec.containers[0].cpuRequest.map { "\($0)" } ?? "-"), pod request \(request(web).map(String.init) ?? "-")")
            #expect(webAllocation.spec.cpuFloor?.millicores == 100, "the owner's request is the recorded floor")
            #expect(try #require(request(web)) <= (try #require(limit(web))), "requests ≤ limits")
            #expect(web.status?.qosClass == "Burstable" && QoSClass.of(containers: web.spec.containers) == .burstable)
            // Σ requests on the node (Guaranteed pods included) within what the market may divide.
            let all = try await pods.listAll().items
            let total = all.reduce(Int64(0)) { $0 + (request($1) ?? 0) }
            #expect(total <= allocatable - reserve, "Σ requests \(total)m > allocatable − reserve")
            print("weights through requests: web request \(request(web).map(String.init) ?? "-")m (cpu.shares \((try? node.cgroupShares("web")).map(String.init) ?? "-")), "
                  + "limit \(limit(web).map(String.init) ?? "-")m; Σ requests on the node \(total)m of \(allocatable - reserve)m")
            if ProcessInfo.processInfo.environment["MBCAS_E2E_LOGS"] != nil { print(node.logs) }
            // Guaranteed: never resized; the idle pod's weight did not move, so nothing was written for it.
            let gold = try await pods.get("gold")
            #expect(request(gold) == 200 && limit(gold) == 200 && gold.status?.qosClass == "Guaranteed")
            #expect((try? await allocations.get("gold")) == nil, "a PodAllocation was written for a Guaranteed pod")
            #expect(request(try await pods.get("idle")) == 100)
            #expect((try? await allocations.get("idle")) == nil, "a PodAllocation was written for a pod whose demand did not change")
            let refused = try await allocations.listAll().items.filter { $0.status?.phase == .failed }
            #expect(refused.isEmpty, "resizes refused: \(refused.map { "\($0.metadata.name): \($0.status?.message ?? "")" })")
            if direct {
                // The weight reached the cgroup straight from the push (the annotation pairs it with the stall).
                var seen = Set<UInt64>()  // one per stall: several resizes may carry the same decision's annotation
                let viaDirect = node.samples.all.filter { $0.direct != nil && seen.insert($0.stall).inserted }
                #expect(!viaDirect.isEmpty, "no direct raise recorded: \(node.samples.all.map { "\($0.reason) direct \($0.direct.map(String.init) ?? "-")" })")
                print("weights, kernel stall → pod cgroup by the direct path: " + viaDirect.map { sample in
                    String(format: "%@ %.3f ms", sample.reason, Double(sample.direct! &- sample.stall) / 1e6)
                }.joined(separator: ", ") + " (a weight is decided in a market round: debounced, not on the push itself)")
                // Every direct raise the agent logged, by knob: the cap at the push, the weight in the round after it.
                for knob in ["limit", "request"] {
                    let values = Self.loggedLatencies(node.log("agent").split(separator: "\n").filter { $0.contains(" \(knob)=") }
                        .joined(separator: "\n"), marker: "direct raise", key: "stall_to_cgroup_us").sorted()
                    print(String(format: "weights, direct raises of the %@ (agent log): n=%d median %.3f ms p99 %.3f ms", knob,
                                 values.count, percentile(values, 0.5), percentile(values, 0.99)))
                }
            }
            let schema = try node.checkPodAllocationsAgainstCRD()
            #expect(schema?.status == 0, "a PodAllocation as written does not fit deploy/crd's schema:\n\(schema?.stdout ?? "")\(schema?.stderr ?? "")")

            if !direct {
                // The kubelet re-reports a smaller allocatable (its reservations grew): the agent
                // follows the Node, and the busy pod's request shrinks to fit the new budget.
                try KubeletStandIn.registerNode(store: node.server.store, name: "node-e2e", allocatableCPU: "800m")
                let followed = await eventually(timeout: .seconds(30)) {
                    let total = ((try? await pods.listAll().items) ?? []).reduce(Int64(0)) { $0 + (request($1) ?? 0) }
                    last = "Σ requests \(total)m"
                    return total <= 800 - reserve && node.log("agent").contains("the node's allocatable cpu changed")
                }
                #expect(followed, "the agent did not follow the Node's allocatable down to 800m (\(last)):\n\(node.logs)")
                print("allocatable 1000m → 800m: \(last) of \(800 - reserve)m; web request \(request(try await pods.get("web")).map(String.init) ?? "-")m")
            }

            // The burst ends: the share flows back, the request returns toward the floor.
            burner.stop()
            let back = await eventually(timeout: .seconds(30)) {
                let web = try? await pods.get("web")
                last = "web request \(request(web).map(String.init) ?? "-") actuated \(actuatedRequest(web).map(String.init) ?? "-")"
                return request(web).map { $0 <= 150 } == true && actuatedRequest(web) == request(web)
            }
            #expect(back, "the request did not come back after the load stopped (\(last)):\n\(node.logs)")
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }
}
