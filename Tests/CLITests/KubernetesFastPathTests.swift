import Cgroups
import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import Synchronization
import TestSupport
import Testing

/// `--direct-cgroup-raise`, measured and raced: the kernel stall → pod cgroup figure over many
/// stall episodes, against a standalone agent in the same run; and the kubelet rewriting the
/// cgroups before the resize lands.
extension KubernetesEndToEndTests {
    /// The agents' settings for many raises: every pushed throttle start is a guardrail raise
    /// (no per-pod interval), and rounds lower an idle pod again at once (no warm-up or cooldown,
    /// a slow pass every 200 ms), so each burst of a bursty pod starts from a low limit.
    static func fastPathConfig(parent: String) -> String {
        """
        {"cgroup_parent": "\(parent)", "capacity_millicores": 2000, "reserve_millicores": 100,
         "actuation": "limits", "defaults": {"floor": 100, "cap": 1500},
         "guardrail": {"step": 0.3, "interval_ms": 0},
         "market": {"warmup_ms": 0, "cooldown_ms": 0, "reclaim_interval_ms": 200}}
        """
    }

    /// Stall → write figures (ms) a `mbcas agent` logs: `key` (µs) on the lines that contain `marker`.
    static func loggedLatencies(_ log: String, marker: String, key: String) -> [Double] {
        log.split(separator: "\n").compactMap { line in
            guard line.contains(marker), let range = line.range(of: key + "=") else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." }).map { $0 / 1000 }
        }
    }

    @Test("--direct-cgroup-raise over many stall episodes: kernel stall → pod cgroup (median, p99, count) against a standalone agent in the same run; the API path converges to the same limit")
    func directRaiseLatency() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["MBCAS_E2E_FASTPATH_SECONDS"] ?? "") ?? 30
        let node = try await Node(pods: ["web"], kubeletSync: true)
        // The standalone agent's node: one pod cgroup under its own parent, as bursty as web.
        let solo = try TemporaryCgroup(prefix: "mbcas-e2e-solo")
        let config = NSTemporaryDirectory() + "mbcas-e2e-fastpath-\(UUID().uuidString).json"
        defer {
            solo.remove()
            try? FileManager.default.removeItem(atPath: config)
        }
        do {
            try solo.delegateCPU()
            let soloPod = try solo.directory.createChild("solo")
            try CPULimit(millicores: 200).write(cgroupPath: soloPod.path, version: solo.hierarchy.version)
            try Self.fastPathConfig(parent: solo.path).write(toFile: config, atomically: true, encoding: .utf8)
            try node.startAgentAndController(agentArguments: ["--direct-cgroup-raise", "--config", config])
            try node.start("standalone", ["agent", "--config", config, "--pin-root", node.pinRoot + "-solo", "--log-level", "info"])
            defer { try? FileManager.default.removeItem(atPath: node.pinRoot + "-solo") }

            // Every PodAllocation revision: the stall it carries and when the direct raise wrote the pod cgroup.
            let direct = Mutex<[UInt64: UInt64]>([:])
            let watcher = Informer(node.client.resources(PodAllocation.self, namespace: "shop"), logger: Logger(label: "e2e"))
            let watching = Task {
                await watcher.run { event in
                    guard case .updated(_, let allocation) = event, let annotations = allocation.metadata.annotations,
                          let stall = annotations[PodAllocationWriterAnnotation.stall].flatMap(UInt64.init),
                          let at = annotations[PodAllocationWriterAnnotation.direct].flatMap(UInt64.init), at != 0 else { return }
                    direct.withLock { $0[stall] = at }
                }
            }
            defer { watching.cancel() }

            let web = node.podCgroups["web"]!
            let container = web + "/" + (try #require(try CgroupDirectory(path: web).children().first))
            let burners = [try Burner(cgroupPath: container, busy: 0.4, idle: 0.6), try Burner(cgroupPath: soloPod.path, busy: 0.4, idle: 0.6)]
            defer { for burner in burners { burner.stop() } }
            try await Task.sleep(for: .seconds(seconds))
            for burner in burners { burner.stop() }

            // Every direct raise, as the agent timed it (its log), and those the PodAllocations carried.
            let directMs = Self.loggedLatencies(node.log("agent"), marker: "direct raise", key: "stall_to_cgroup_us").sorted()
            let annotatedMs = direct.withLock { $0 }.map { Double($1 &- $0) / 1e6 }.sorted()
            let standaloneMs = Self.loggedLatencies(node.log("standalone"), marker: "reason=guardrail", key: "push_to_write_us").sorted()
            let apiMs = node.samples.all.map { Double($0.written &- $0.stall) / 1e6 }.sorted()
            #expect(!directMs.isEmpty && !annotatedMs.isEmpty, "no direct raise logged, or none recorded in a PodAllocation:\n\(node.logs)")
            #expect(!standaloneMs.isEmpty, "the standalone agent logged no guardrail raise:\n\(node.logs)")
            #expect(direct.withLock { $0 }.allSatisfy { $1 > $0 }, "a direct raise written before its stall")
            func figures(_ values: [Double]) -> String {
                String(format: "n=%d median %.3f ms p99 %.3f ms max %.3f ms", values.count, percentile(values, 0.5),
                       percentile(values, 0.99), values.last ?? .nan)
            }
            print("kernel stall → pod cgroup over \(Int(seconds)) s of bursts (0.4 s busy, 0.6 s idle):\n"
                  + "  Kubernetes mode, direct raise (stall → pod cgroup written): \(figures(directMs))\n"
                  + "  (the same figure as the PodAllocations carried it, the raises not superseded before their write: \(figures(annotatedMs)))\n"
                  + "  standalone agent, same run (stall → cgroup written): \(figures(standaloneMs))\n"
                  + "  Kubernetes mode through the API (PodAllocation → controller → pods/resize → kubelet): "
                  + String(format: "n=%d median %.1f ms p99 %.1f ms", apiMs.count, percentile(apiMs, 0.5), percentile(apiMs, 0.99)))

            let (converged, last) = await node.limitConverges("web")
            #expect(converged, "the API path did not converge to the agent's last decision: \(last)\n\(node.logs)")
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0, "standalone": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }

    @Test("the kubelet rewrites the cgroups before the resize lands: the agent re-asserts the raise (boundedly), gives it back when it runs out, and once the resize lands the cgroups are the kubelet's, at the agent's decision")
    func directRaiseRacedByKubeletSync() async throws {
        let node = try await Node(pods: ["web"], kubeletSync: true)
        // The resize stays in progress (its actuation fails and is retried, as the kubelet retries a
        // failed one) while the stand-in's pod sync rewrites the cgroups from what it actuated. Not
        // Deferred: a deferral is the kubelet saying no room, and the agent gives a raise back at once.
        node.actuationFails.set(true)
        do {
            try node.startAgentAndController(agentArguments: ["--direct-cgroup-raise"])
            let web = node.podCgroups["web"]!
            let burner = try Burner(cgroupPath: web + "/" + (try #require(try CgroupDirectory(path: web).children().first)))
            defer { burner.stop() }
            func agentLog() -> String { node.log("agent") }
            let raced = await eventually(timeout: .seconds(30)) {
                agentLog().contains("direct raise re-asserted") && node.syncRewrites.count > 0
            }
            #expect(raced, "the kubelet's pod sync never rewrote a direct raise, or the agent never re-asserted it:\n\(node.logs)")
            // Bounded: the resize does not land, so the raise is given back and the pod runs at the kubelet's limit.
            let gaveBack = await eventually(timeout: .seconds(20)) { agentLog().contains("direct raise given back") }
            #expect(gaveBack, "the direct raise was never given back while the resize was held:\n\(node.logs)")
            let reasserts = agentLog().split(separator: "\n").filter { $0.contains("direct raise re-asserted") }.count
            #expect(reasserts <= 5 * agentLog().split(separator: "\n").filter { $0.contains("direct raise given back") }.count + 5,
                    "more re-asserts (\(reasserts)) than the bound allows")
            let resting = await eventually(timeout: .seconds(5)) { ((try? node.cgroupLimit("web")) ?? nil) == 200 }
            #expect(resting, "given back, the pod cgroup is not at the kubelet's 200m: \((try? node.cgroupLimit("web")).map { "\($0.map(String.init) ?? "max")" } ?? "?")")

            // The kubelet accepts: the resize lands, the cgroups are the kubelet's, at the agent's decision.
            node.actuationFails.set(false)
            node.kubelet.retry()
            burner.stop()
            let (converged, last) = await node.limitConverges("web")
            #expect(converged, "not converged once the resize was accepted: \(last)\n\(node.logs)")
            print("kubelet race: \(node.syncRewrites.count) rewrites by the pod sync, \(reasserts) re-asserts by the agent before the give-back; then \(last)")
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }
}
