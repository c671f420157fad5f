import Controller
import Foundation
import KubeAPIFixture
import KubernetesClient
import Synchronization
import TestSupport
import Testing

/// The controller against the loopback API server over real HTTP, with the kubelet stand-in
/// playing the node: every expectation is read back from the API.
@Suite("controller: resize rules", .timeLimit(.minutes(1)))
struct ResizeRulesTests {
    @Test("an applied resize: a Normal event, status Applied with appliedContainers equal to the pod's status")
    func appliedResize() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        let allocation = try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        let (service, _) = harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        let applied = try await harness.allocation("web")
        let resized = try await harness.pod("web")
        #expect(resized.specLimit() == "750m")
        #expect(resized.spec.containers[0].resources?.requests?["cpu"] == "250m")
        let actuated = try #require(resized.actuated())
        #expect(applied.status?.appliedContainers == [
            ContainerAllocation(name: "app", cpuRequest: try actuated.cpuRequest(), cpuLimit: try #require(try actuated.cpuLimit())),
        ])
        #expect(applied.status?.appliedContainers?.first?.cpuLimit == cpu("750m"))
        #expect(applied.status?.observedGeneration == allocation.metadata.generation)
        #expect(applied.status?.lastAppliedTime.flatMap(Timestamp.parse) != nil)
        #expect(applied.appliedCondition?.status == "True")
        #expect(applied.reason == "Applied")
        #expect(applied.appliedCondition?.lastTransitionTime != nil)

        let events = try await harness.events("web")
        let resizedEvent = try #require(events.first { $0.reason == "Resized" })
        #expect(resizedEvent.type == "Normal")
        #expect(resizedEvent.message == "cpu limit 500m → 750m for container app (guardrail)")
        #expect(resizedEvent.source?.component == "mbcas-controller")
        #expect(resizedEvent.involvedObject.kind == "Pod")
        #expect(resizedEvent.involvedObject.uid == pod.metadata.uid)
        #expect(resizedEvent.metadata.name.hasPrefix("web."))
        #expect(events.filter { $0.type == "Warning" }.isEmpty)

        // Idempotent: further passes (resyncs every 200 ms) write nothing.
        let writes = service.stats.writes, reconciles = service.stats.reconciles
        #expect(await eventually { service.stats.reconciles >= reconciles + 4 })
        #expect(service.stats.writes == writes)
        #expect(harness.requests.count("PATCH", "/pods/web/resize") == 1)
        await harness.stop()
    }

    @Test("a Guaranteed pod is Skipped with the reason, and never patched")
    func guaranteedSkipped() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("db", containers: [
            Harness.container(cpuRequest: "500m", cpuLimit: "500m", memoryRequest: "64Mi", memoryLimit: "64Mi"),
        ])
        #expect(pod.status?.qosClass == "Guaranteed")
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("1"))])
        let (service, _) = harness.runController()

        #expect(try await eventually { try await harness.allocation("db").status?.phase == .skipped })
        let skipped = try await harness.allocation("db")
        #expect(skipped.reason == "GuaranteedQoS")
        #expect(skipped.status?.message?.contains("Guaranteed QoS") == true)
        #expect(skipped.appliedCondition?.status == "False")
        // The Event follows the status write.
        #expect(try await eventually { try await harness.events("db").contains { $0.type == "Warning" } })
        let warning = try #require(try await harness.events("db").first { $0.type == "Warning" })
        #expect(warning.reason == "Skipped")
        #expect(warning.message == skipped.status?.message)

        let reconciles = service.stats.reconciles
        #expect(await eventually { service.stats.reconciles >= reconciles + 4 })
        let after = try await harness.pod("db")
        #expect(after.metadata.resourceVersion == pod.metadata.resourceVersion)
        #expect(after.specLimit() == "500m")
        #expect(harness.requests.count("PATCH", "/resize") == 0)
        #expect(service.stats.statusWrites == 1)
        #expect(try await harness.events("db").count == 1)
        await harness.stop()
    }

    @Test("a QoS-changing request refused by the server (422) is Failed with the API's message, once")
    func qosChangeRefused() async throws {
        let harness = try await Harness.start()
        // Burstable: cpu 250m/500m, memory 64Mi/64Mi. Request = limit = 500m would make it Guaranteed.
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuRequest: cpu("500m"), cpuLimit: cpu("500m"))])
        let (service, _) = harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .failed })
        let failed = try await harness.allocation("web")
        let message = try #require(failed.status?.message)
        #expect(message.contains("Pod QOS Class may not change as a result of resizing"))
        #expect(!message.contains("PATCH "))  // the API's message, not the client's request line
        #expect(failed.reason == "ResizeFailed")
        #expect(failed.status?.observedGeneration == 1)
        #expect(try await eventually { try await harness.events("web").contains { $0.reason == "ResizeFailed" } })
        let warning = try #require(try await harness.events("web").first { $0.reason == "ResizeFailed" })
        #expect(warning.type == "Warning")
        #expect(warning.message == message)

        // No retry loop: resyncs come and go, the patch was sent once, the pod never changed.
        let reconciles = service.stats.reconciles
        #expect(await eventually { service.stats.reconciles >= reconciles + 5 })
        #expect(harness.requests.count("PATCH", "/pods/web/resize") == 1)
        let unchanged = try await harness.pod("web")
        #expect(unchanged.metadata.generation == 1)
        #expect(unchanged.spec.containers[0].resources?.requests?["cpu"] == "250m")
        #expect(try await harness.events("web").count == 1)

        // A new decision (generation 2) is tried again.
        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        #expect(try await harness.allocation("web").status?.observedGeneration == 2)
        #expect(try await harness.pod("web").specLimit() == "750m")
        await harness.stop()
    }

    @Test("Deferred by the kubelet, then applied when it accepts")
    func deferredThenApplied() async throws {
        let harness = try await Harness.start(policy: { _ in .deferred("not enough CPU on node-a right now") })
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("900m"))])
        harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .deferred })
        let deferred = try await harness.allocation("web")
        #expect(deferred.reason == "Deferred")
        #expect(deferred.status?.message?.contains("not enough CPU on node-a right now") == true)
        #expect(deferred.status?.appliedContainers?.first?.cpuLimit == cpu("500m"))  // still running the old limit
        #expect(try await harness.pod("web").specLimit() == "900m")
        // One Normal Event with the kubelet's words (the kubelet retries by itself: not a Warning).
        #expect(try await eventually { try await harness.events("web").contains {
            $0.reason == "ResizeDeferred" && $0.type == "Normal" && $0.message?.contains("not enough CPU on node-a right now") == true
        } })

        harness.kubelet.policy = { _ in .accept }
        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        let applied = try await harness.allocation("web")
        #expect(applied.status?.appliedContainers?.first?.cpuLimit == cpu("900m"))
        #expect(try await harness.pod("web").actuated()?.limits?["cpu"] == "900m")
        #expect(harness.requests.count("PATCH", "/pods/web/resize") == 1)
        await harness.stop()
    }

    @Test("Infeasible from the kubelet becomes Infeasible with a Warning event")
    func infeasible() async throws {
        let harness = try await Harness.start(policy: { _ in .infeasible("the node has 2 CPUs") })
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("1"))])
        harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .infeasible })
        #expect(try await harness.allocation("web").status?.message?.contains("the node has 2 CPUs") == true)
        #expect(try await eventually { try await harness.events("web").contains { $0.reason == "Infeasible" && $0.type == "Warning" } })
        await harness.stop()
    }

    @Test("cooldown: a second change within the cooldown waits for it, then is applied")
    func cooldown() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        let changes = try await SpecChanges.watch(harness, pod: "web")
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        let cooldown = Duration.milliseconds(1500)
        harness.runController(Harness.configuration(cooldown: cooldown))

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuLimit: cpu("1"))])

        // Waiting: Pending/Cooldown, and the pod still has the first change.
        #expect(try await eventually { try await harness.allocation("web").reason == "Cooldown" })
        let waiting = try await harness.allocation("web")
        #expect(waiting.status?.phase == .pending)
        #expect(waiting.status?.message?.contains("cooldown") == true)
        #expect(try await harness.pod("web").specLimit() == "750m")

        #expect(try await eventually { try await harness.isApplied("web", limit: "1") })
        let seen = changes.stop()
        #expect(seen.map(\.limit) == ["750m", "1"])
        if seen.count == 2 {
            // The watch saw the second patch no sooner than a cooldown after the first.
            #expect(seen[1].at - seen[0].at >= cooldown - .milliseconds(100))
        }
        await harness.stop()
    }

    @Test("requests are weights: a requests-only change does not wait for the limits' cooldown; in a decision moving both, the request goes ahead and the limit waits")
    func requestsDoNotWaitForTheLimitsCooldown() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])  // request 250m, limit 500m
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        // A limits' cooldown far longer than the test: whatever lands meanwhile did not wait for it.
        harness.runController(Harness.configuration(cooldown: .seconds(600), requestCooldown: .milliseconds(100)))
        #expect(try await eventually { try await harness.isApplied("web", limit: "750m") })

        let decided = ContinuousClock.now
        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuRequest: cpu("400m"), cpuLimit: cpu("750m"))], reason: "weights")
        #expect(try await eventually { try await harness.pod("web").specRequest() == "400m" }, "a requests-only resize waited for the limits' cooldown")
        print("requests-only decision → pod spec: \(ContinuousClock.now - decided) (the limits' cooldown: 600 s)")
        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })

        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuRequest: cpu("500m"), cpuLimit: cpu("1"))], reason: "weights")
        #expect(try await eventually { try await harness.pod("web").specRequest() == "500m" }, "the request did not go ahead of the limit")
        #expect(try await harness.pod("web").specLimit() == "750m", "the limit moved within its cooldown")
        // While the kubelet actuates the request the status may say so; once it has, the limit's
        // wait is what is left to say.
        var waiting = try await harness.allocation("web")
        #expect(try await eventually {
            waiting = try await harness.allocation("web")
            return waiting.reason == "Cooldown"
        })
        #expect(waiting.status?.phase == .pending)
        #expect(waiting.status?.message?.contains("600s cooldown since the last one that moved a limit") == true, "\(waiting.status?.message ?? "")")
        await harness.stop()
    }

    @Test("request cooldown: two requests-only changes are at least the request cooldown apart")
    func requestCooldownBoundsResizes() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuRequest: cpu("300m"), cpuLimit: cpu("500m"))])
        let requestCooldown = Duration.milliseconds(1500)
        harness.runController(Harness.configuration(cooldown: .seconds(600), requestCooldown: requestCooldown))
        #expect(try await eventually { try await harness.pod("web").specRequest() == "300m" })
        let first = ContinuousClock.now
        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuRequest: cpu("350m"), cpuLimit: cpu("500m"))], reason: "weights")
        #expect(try await eventually { try await harness.pod("web").specRequest() == "350m" })
        // Seen no sooner than the request cooldown after the first (measured from after the first was seen).
        #expect(ContinuousClock.now - first >= requestCooldown - .milliseconds(100))
        await harness.stop()
    }

    @Test("maximum step: a large change is made in steps of at most ×2 up and ×0.5 down")
    func maxStep() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        let changes = try await SpecChanges.watch(harness, pod: "web")
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("3"))])
        harness.runController(Harness.configuration(maxStepUp: 2, maxStepDown: 0.5))

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        #expect(try await harness.allocation("web").status?.appliedContainers?.first?.cpuLimit == cpu("3"))
        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuLimit: cpu("400m"))])
        #expect(try await eventually { try await harness.isApplied("web", limit: "400m") })

        let limits = changes.stop().map(\.limit)
        #expect(limits == ["1", "2", "3", "1500m", "750m", "400m"])
        var previous = cpu("500m")
        for limit in limits.map(cpu) {
            let ratio = Double(limit.millicores) / Double(previous.millicores)
            #expect(ratio <= 2 && ratio >= 0.5, "step \(previous) → \(limit)")
            previous = limit
        }
        // Each step's Event says where it is going.
        let messages = try await harness.events("web").compactMap(\.message)
        #expect(messages.contains("cpu limit 500m → 1 for container app (guardrail; step toward 3, at most ×2 per resize)"))
        await harness.stop()
    }

    @Test("a container whose cpu resizePolicy is RestartContainer is Skipped unless restarts are allowed")
    func restartPolicy() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container(restartOnResize: true)])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        let (service, task) = harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .skipped })
        let skipped = try await harness.allocation("web")
        #expect(skipped.reason == "RestartRequired")
        #expect(skipped.status?.message?.contains("--allow-restarts") == true)
        #expect(harness.requests.count("PATCH", "/resize") == 0)
        task.cancel()
        _ = try? await task.value
        #expect(!service.stats.leading)

        var allowing = Harness.configuration()
        allowing.allowRestarts = true
        harness.runController(allowing)
        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        #expect(try await harness.pod("web").specLimit() == "750m")
        await harness.stop()
    }

    @Test("a pod recreated under the same name (another uid) is Skipped")
    func recreatedPod() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        var stale = pod
        stale.metadata.uid = "00000000-0000-0000-0000-000000000000"
        try await harness.allocate(stale, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        harness.runController()

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .skipped })
        #expect(try await harness.allocation("web").reason == "PodRecreated")
        #expect(try await harness.pod("web").specLimit() == "500m")
        await harness.stop()
    }
}

/// The cpu limits the pod's spec goes through, seen on a watch (with when each was seen).
final class SpecChanges: Sendable {
    struct Change: Sendable {
        var limit: String
        var at: ContinuousClock.Instant
    }

    private let state = Mutex<(started: Bool, changes: [Change])>((false, []))
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Watches the pod `name`; returns once the watch has delivered the pod as it is now.
    static func watch(_ harness: Harness, pod name: String) async throws -> SpecChanges {
        let changes = SpecChanges()
        let pods = harness.client.resources(Pod.self, namespace: Harness.namespace)
        let task = Task {
            var last: String?
            do {
                for try await event in pods.watch(ListOptions(fieldSelector: "metadata.name=\(name)"), resourceVersion: nil) {
                    switch event {
                    case .added(let pod):  // the pod as it is now: the starting point
                        last = pod.specLimit()
                        changes.state.withLock { $0.started = true }
                    case .modified(let pod):
                        if let limit = pod.specLimit(), limit != last {
                            last = limit
                            changes.state.withLock { $0.changes.append(Change(limit: limit, at: .now)) }
                        }
                    default:
                        break
                    }
                }
            } catch {}
        }
        changes.task.withLock { $0 = task }
        #expect(await eventually { changes.state.withLock { $0.started } })
        return changes
    }

    /// Stops watching; the changes seen.
    func stop() -> [Change] {
        task.withLock { $0?.cancel() }
        return state.withLock { $0.changes }
    }
}
