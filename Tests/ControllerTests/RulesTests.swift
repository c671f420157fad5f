@testable import Controller
import Foundation
import KubernetesClient
import QoS
import Testing

/// The pure parts: QoS classes, the resize planner, the kubelet's progress, the status builder.
@Suite("resize rules, pure")
struct RulesTests {
    static func container(_ name: String = "app", requests: [String: String]? = nil, limits: [String: String]? = nil,
                          restart: Bool = false) -> Container {
        Container(name: name, resources: ResourceRequirements(requests: requests, limits: limits),
                  resizePolicy: restart ? [ContainerResizePolicy(resourceName: "cpu", restartPolicy: "RestartContainer")] : nil)
    }

    static func pod(_ containers: [Container], qos: String? = nil, actuatedLimit: String? = nil) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: "web", namespace: "default"), spec: PodSpec(nodeName: "node-a", containers: containers))
        pod.metadata.uid = "uid-1"
        pod.metadata.generation = 1
        pod.status = PodStatus(phase: "Running", qosClass: qos, containerStatuses: actuatedLimit.map {
            [ContainerStatus(name: containers[0].name, resources: ResourceRequirements(limits: ["cpu": $0]))]
        })
        return pod
    }

    static func allocation(limit: String, request: String? = nil, container: String = "app", node: String? = "node-a") -> PodAllocation {
        PodAllocation(metadata: ObjectMeta(name: "web", namespace: "default"),
                      spec: PodAllocationSpec(podName: "web", podUID: "uid-1", nodeName: node, containers: [
                          ContainerAllocation(name: container, cpuRequest: request.map(cpu), cpuLimit: cpu(limit)),
                      ]))
    }

    let planner = ResizePlanner(configuration: ControllerConfiguration(maxStepUp: 2, maxStepDown: 0.5))

    func refusal(_ plan: ResizePlan) -> Refusal? {
        if case .refuse(let refusal) = plan { return refusal }
        return nil
    }

    func targets(_ plan: ResizePlan) -> [ContainerTarget]? {
        if case .converge(let targets) = plan { return targets }
        return nil
    }

    @Test("QoS classes as the API server computes them")
    func qosClasses() {
        let cpuAndMemory = ["cpu": "1", "memory": "64Mi"]
        #expect(QoSClass.of(containers: [Self.container(limits: cpuAndMemory)]) == .guaranteed)  // requests default to limits
        #expect(QoSClass.of(containers: [Self.container(requests: ["cpu": "1000m", "memory": "64Mi"], limits: cpuAndMemory)]) == .guaranteed)
        #expect(QoSClass.of(containers: [Self.container(requests: ["cpu": "500m", "memory": "64Mi"], limits: cpuAndMemory)]) == .burstable)
        #expect(QoSClass.of(containers: [Self.container(limits: ["cpu": "1"])]) == .burstable)  // no memory limit
        #expect(QoSClass.of(containers: [Self.container(limits: cpuAndMemory), Self.container("sidecar")]) == .burstable)
        #expect(QoSClass.of(containers: [Self.container(), Self.container("sidecar")]) == .bestEffort)
        #expect(QoSClass.of(containers: [Self.container(requests: ["cpu": "0"])]) == .bestEffort)
        #expect(QoSClass.of(Self.pod([Self.container(limits: cpuAndMemory)], qos: "Burstable")) == .burstable)  // status wins
    }

    @Test("trust: only an allocation from the pod's own node is acted on")
    func nodeMustMatch() {
        let pod = Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "500m"])])
        #expect(targets(planner.plan(allocation: Self.allocation(limit: "750m"), pod: pod)) != nil)
        for node in ["node-b", "", nil] as [String?] {
            let refused = refusal(planner.plan(allocation: Self.allocation(limit: "750m", node: node), pod: pod))
            #expect(refused?.reason == "NodeMismatch", "allocation from \(node ?? "nil")")
            #expect(refused?.message.contains("node-a") == true)
        }
    }

    @Test("never resizable: a static pod's mirror and a pod with pod-level resources are skipped up front")
    func neverResizable() {
        var mirror = Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "500m"])])
        mirror.metadata.annotations = [Pod.mirrorAnnotation: "hash"]
        #expect(refusal(planner.plan(allocation: Self.allocation(limit: "750m"), pod: mirror))?.reason == "StaticPod")
        var budget = Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "500m"])])
        budget.spec.resources = ResourceRequirements(limits: ["cpu": "2"])
        #expect(refusal(planner.plan(allocation: Self.allocation(limit: "750m"), pod: budget))?.reason == "PodLevelResources")
    }

    @Test("sidecars and init containers count in the QoS class, as the API server counts them")
    func sidecarsInQoS() {
        let guaranteed = ["cpu": "1", "memory": "64Mi"]
        var pod = Self.pod([Self.container(limits: guaranteed)])
        #expect(QoSClass.of(containers: QoSClass.allContainers(of: pod)) == .guaranteed)
        pod.spec.initContainers = [Container(name: "proxy", resources: ResourceRequirements(requests: ["cpu": "100m"]),
                                             restartPolicy: "Always")]
        #expect(QoSClass.of(containers: QoSClass.allContainers(of: pod)) == .burstable)
    }

    @Test("the maximum step: at most ×2 up, ×0.5 down, from the actuated limit")
    func steps() {
        #expect(planner.step(toward: cpu("3"), from: cpu("500m")) == cpu("1"))
        #expect(planner.step(toward: cpu("750m"), from: cpu("500m")) == cpu("750m"))
        #expect(planner.step(toward: cpu("100m"), from: cpu("1")) == cpu("500m"))
        #expect(planner.step(toward: cpu("3"), from: nil) == cpu("3"))
        #expect(planner.step(toward: cpu("3m"), from: cpu("1m")) == cpu("2m"))
        // The kubelet still runs 500m while the spec says 1: the next step is from 500m, i.e. 1 again.
        let plan = planner.plan(allocation: Self.allocation(limit: "4"),
                                pod: Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "1"])], actuatedLimit: "500m"))
        #expect(targets(plan)?.first?.limit == cpu("1"))
        #expect(targets(plan)?.first?.changesSpec == false)
        #expect(targets(plan)?.first?.clamped == true)
    }

    @Test("Guaranteed and BestEffort pods are skipped, never planned")
    func qosSkips() {
        let guaranteed = planner.plan(allocation: Self.allocation(limit: "2"),
                                      pod: Self.pod([Self.container(limits: ["cpu": "1", "memory": "1Gi"])]))
        #expect(refusal(guaranteed)?.reason == "GuaranteedQoS")
        let bestEffort = planner.plan(allocation: Self.allocation(limit: "2"), pod: Self.pod([Self.container()]))
        #expect(refusal(bestEffort)?.reason == "BestEffortQoS")
        #expect(refusal(bestEffort)?.phase == .skipped)
    }

    @Test("lowering a request under a lowered limit: done when the QoS class stays, refused when it would change")
    func requestsFollowLimits() {
        // Memory request < limit: lowering the cpu request to the limit keeps the pod Burstable.
        let stays = planner.plan(allocation: Self.allocation(limit: "500m"), pod: Self.pod([
            Self.container(requests: ["cpu": "800m", "memory": "32Mi"], limits: ["cpu": "1", "memory": "64Mi"]),
        ]))
        #expect(targets(stays)?.first?.limit == cpu("500m"))
        #expect(targets(stays)?.first?.request == cpu("500m"))
        // Memory request == limit: cpu request == limit would make it Guaranteed.
        let changes = planner.plan(allocation: Self.allocation(limit: "500m"), pod: Self.pod([
            Self.container(requests: ["cpu": "800m", "memory": "64Mi"], limits: ["cpu": "1", "memory": "64Mi"]),
        ]))
        #expect(refusal(changes)?.reason == "QoSWouldChange")
        #expect(refusal(changes)?.message.contains("from Burstable to Guaranteed") == true)
        // Adding a cpu limit equal to the request, memory already equal: Guaranteed too.
        let adding = planner.plan(allocation: Self.allocation(limit: "500m"), pod: Self.pod([
            Self.container(requests: ["cpu": "500m", "memory": "64Mi"], limits: ["memory": "64Mi"]),
        ]))
        #expect(refusal(adding)?.reason == "QoSWouldChange")
        // A request the agent asks for explicitly goes to the API server, which judges it (422).
        let explicit = planner.plan(allocation: Self.allocation(limit: "1", request: "1"), pod: Self.pod([
            Self.container(requests: ["cpu": "500m", "memory": "64Mi"], limits: ["cpu": "1", "memory": "64Mi"]),
        ]))
        #expect(targets(explicit)?.first?.request == cpu("1"))
    }

    @Test("restart policy, unknown containers and recreated pods are skipped with a reason")
    func otherSkips() {
        let burstable = ["cpu": "250m"], limits = ["cpu": "500m"]
        let restart = planner.plan(allocation: Self.allocation(limit: "750m"),
                                   pod: Self.pod([Self.container(requests: burstable, limits: limits, restart: true)]))
        #expect(refusal(restart)?.reason == "RestartRequired")
        let allowed = ResizePlanner(configuration: ControllerConfiguration(allowRestarts: true))
            .plan(allocation: Self.allocation(limit: "750m"), pod: Self.pod([Self.container(requests: burstable, limits: limits, restart: true)]))
        #expect(targets(allowed)?.first?.limit == cpu("750m"))
        // Nothing to change: the restart policy does not matter.
        let unchanged = planner.plan(allocation: Self.allocation(limit: "500m"),
                                     pod: Self.pod([Self.container(requests: burstable, limits: limits, restart: true)]))
        #expect(targets(unchanged)?.first?.changesSpec == false)
        let unknown = planner.plan(allocation: Self.allocation(limit: "750m", container: "nope"),
                                   pod: Self.pod([Self.container(requests: burstable, limits: limits)]))
        #expect(refusal(unknown)?.reason == "UnknownContainer")
        var other = Self.pod([Self.container(requests: burstable, limits: limits)])
        other.metadata.uid = "uid-2"
        #expect(refusal(planner.plan(allocation: Self.allocation(limit: "750m"), pod: other))?.reason == "PodRecreated")
    }

    @Test("the kubelet's progress: actuated values win; stale conditions are ignored")
    func progress() {
        var pod = Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "750m"])], actuatedLimit: "500m")
        let target = ContainerTarget(name: "app", currentLimit: cpu("750m"), currentRequest: cpu("250m"), limit: cpu("750m"),
                                     request: nil, desiredLimit: cpu("750m"))
        #expect(ResizeProgress.of(pod, targets: [target]) == .waiting)
        pod.metadata.generation = 2
        pod.status?.conditions = [Condition(type: "PodResizePending", status: "True", reason: "Deferred", message: "full", observedGeneration: 1)]
        #expect(ResizeProgress.of(pod, targets: [target]) == .waiting)  // about generation 1
        pod.status?.conditions = [Condition(type: "PodResizePending", status: "True", reason: "Deferred", message: "full", observedGeneration: 2)]
        #expect(ResizeProgress.of(pod, targets: [target]) == .deferred(message: "full"))
        pod.status?.conditions = [Condition(type: "PodResizePending", status: "True", reason: "Infeasible", message: "no")]
        #expect(ResizeProgress.of(pod, targets: [target]) == .infeasible(message: "no"))
        pod.status?.conditions = [Condition(type: "PodResizeInProgress", status: "True")]
        #expect(ResizeProgress.of(pod, targets: [target]) == .inProgress(message: nil))
        pod.status?.containerStatuses = [ContainerStatus(name: "app", resources: ResourceRequirements(requests: ["cpu": "250m"], limits: ["cpu": "0.75"]))]
        #expect(ResizeProgress.of(pod, targets: [target]) == .applied)  // "0.75" is 750m
    }

    @Test("1.33 (conditions without observedGeneration): a condition probed before this controller's resize is stale")
    func progressWithoutGenerations() {
        var pod = Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "750m"])], actuatedLimit: "500m")
        pod.metadata.generation = 2
        let target = ContainerTarget(name: "app", currentLimit: cpu("750m"), currentRequest: cpu("250m"), limit: cpu("750m"),
                                     request: nil, desiredLimit: cpu("750m"))
        let resizedAt = Date(timeIntervalSince1970: 1_000_000)
        func deferred(probedAt seconds: Double) -> Condition {
            Condition(type: "PodResizePending", status: "True", reason: "Deferred", message: "full",
                      lastTransitionTime: Timestamp.time(Date(timeIntervalSince1970: 999_000)),
                      lastProbeTime: Timestamp.time(resizedAt.addingTimeInterval(seconds)))
        }
        pod.status?.conditions = [deferred(probedAt: -30)]  // about the previous target
        #expect(ResizeProgress.of(pod, targets: [target], resizedAt: resizedAt) == .waiting)
        pod.status?.conditions = [deferred(probedAt: 2)]  // the kubelet looked at the new one
        #expect(ResizeProgress.of(pod, targets: [target], resizedAt: resizedAt) == .deferred(message: "full"))
        pod.status?.conditions = [deferred(probedAt: -30)]  // a restarted controller does not know when: trusted
        #expect(ResizeProgress.of(pod, targets: [target]) == .deferred(message: "full"))
    }

    @Test("no resize condition and actuated values close to the targets (rounding, NRI): Applied")
    func closeIsApplied() {
        var pod = Self.pod([Self.container(requests: ["cpu": "250m"], limits: ["cpu": "750m"])])
        pod.status?.containerStatuses = [ContainerStatus(name: "app", resources: ResourceRequirements(requests: ["cpu": "250m"],
                                                                                                      limits: ["cpu": "746m"]))]
        let target = ContainerTarget(name: "app", currentLimit: cpu("750m"), currentRequest: cpu("250m"), limit: cpu("750m"),
                                     request: nil, desiredLimit: cpu("750m"))
        #expect(ResizeProgress.of(pod, targets: [target]) == .applied)
        pod.status?.conditions = [Condition(type: "PodResizeInProgress", status: "True")]
        #expect(ResizeProgress.of(pod, targets: [target]) == .inProgress(message: nil))  // not done yet: not Applied
        pod.status?.conditions = nil
        pod.status?.containerStatuses?[0].resources?.limits?["cpu"] = "700m"
        #expect(ResizeProgress.of(pod, targets: [target]) == .waiting)  // 50m off is not rounding
        #expect(ResizeProgress.close(cpu("1"), cpu("1010m")) && !ResizeProgress.close(cpu("1"), cpu("1011m")))
    }

    @Test("status: the same outcome twice is the same status; times move only on change")
    func statusIsStable() {
        let applied = [ContainerAllocation(name: "app", cpuRequest: cpu("250m"), cpuLimit: cpu("750m"))]
        let outcome = Outcome(phase: .applied, reason: "Applied", message: "ok", applied: applied)
        let first = AllocationStatus.build(from: outcome, old: nil, generation: 3, now: Date(timeIntervalSince1970: 1_000))
        let again = AllocationStatus.build(from: outcome, old: first, generation: 3, now: Date(timeIntervalSince1970: 2_000))
        #expect(first == again)
        #expect(first.observedGeneration == 3)
        #expect(first.lastAppliedTime == Timestamp.time(Date(timeIntervalSince1970: 1_000)))
        let pending = AllocationStatus.build(from: Outcome(phase: .pending, reason: "Cooldown", message: "wait", applied: applied),
                                             old: first, generation: 4, now: Date(timeIntervalSince1970: 3_000))
        let condition = pending.conditions?.first { $0.type == "Applied" }
        #expect(condition?.status == "False")
        #expect(condition?.lastTransitionTime == Timestamp.time(Date(timeIntervalSince1970: 3_000)))
        #expect(pending.lastAppliedTime == first.lastAppliedTime)  // same values still running
        let inProgress = AllocationStatus.build(from: Outcome(phase: .pending, reason: "InProgress", message: "busy", applied: applied),
                                                old: pending, generation: 4, now: Date(timeIntervalSince1970: 4_000))
        #expect(inProgress.conditions?.first { $0.type == "Applied" }?.lastTransitionTime == condition?.lastTransitionTime)
    }
}

/// The controller's own writes, used until the informer catches up.
@Suite("local writes")
struct LocalWritesTests {
    static func allocation(_ resourceVersion: String, phase: PodAllocationStatus.Phase? = nil) -> PodAllocation {
        var allocation = PodAllocation(metadata: ObjectMeta(name: "web", namespace: "default"),
                                       spec: PodAllocationSpec(podName: "web", podUID: "u", containers: []))
        allocation.metadata.resourceVersion = resourceVersion
        allocation.status = phase.map { PodAllocationStatus(phase: $0) }
        return allocation
    }

    @Test("a written object stands in for the cached one until the cache moves on")
    func overlay() {
        let writes = LocalWrites<PodAllocation>()
        let cached = Self.allocation("10")
        writes.record(Self.allocation("11", phase: .pending), replacing: cached)
        #expect(writes.resolve("default/web", cached: cached)?.metadata.resourceVersion == "11")
        // A second write on top of the first: still used while the cache holds version 10.
        writes.record(Self.allocation("12", phase: .applied), replacing: Self.allocation("11", phase: .pending))
        #expect(writes.resolve("default/web", cached: cached)?.status?.phase == .applied)
        // The cache moved on (to our write or anyone's): the cache wins, the entry goes.
        #expect(writes.resolve("default/web", cached: Self.allocation("13"))?.metadata.resourceVersion == "13")
        #expect(writes.resolve("default/web", cached: cached)?.metadata.resourceVersion == "10")
        #expect(writes.resolve("default/web", cached: nil) == nil)
    }
}
