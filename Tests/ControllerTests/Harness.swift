import Controller
import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import Synchronization

/// A loopback API server with a kubelet stand-in for node-a, a real client over HTTP, and the
/// helpers the controller tests share: pods, PodAllocations (as the agent writes them), and
/// controllers run as tasks.
final class Harness: Sendable {
    let server: FakeKubeAPIServer
    let client: APIClient
    let kubelet: KubeletStandIn
    /// Every request the server answered, as "METHOD /path?query CODE".
    let requests: RequestLog
    private let running = Mutex<[Task<Void, any Error>]>([])

    static let namespace = "default"

    private init(server: FakeKubeAPIServer, client: APIClient, kubelet: KubeletStandIn, requests: RequestLog) {
        self.server = server
        self.client = client
        self.kubelet = kubelet
        self.requests = requests
    }

    static func start(policy: @escaping KubeletStandIn.Policy = { _ in .accept },
                      conditionsCarryGeneration: Bool = true) async throws -> Harness {
        let requests = RequestLog()
        var serverLogger = Logger(label: "fixture") { _ in RequestLogHandler(log: requests) }
        serverLogger.logLevel = .trace
        let server = try await FakeKubeAPIServer.start(logger: serverLogger)
        let client = APIClient(configuration: ClusterConfiguration(server: server.baseURL),
                               retry: RetryPolicy(initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200)),
                               requestTimeout: .seconds(5), userAgent: "controller-tests", logger: quietLogger("client"))
        let kubelet = KubeletStandIn(store: server.store, nodeName: "node-a", policy: policy,
                                     reevaluationInterval: .milliseconds(100), conditionsCarryGeneration: conditionsCarryGeneration,
                                     logger: quietLogger("kubelet"))
        return Harness(server: server, client: client, kubelet: kubelet, requests: requests)
    }

    /// Cancels the controllers, stops the kubelet and the server.
    func stop() async {
        let tasks = running.withLock { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { _ = try? await task.value }
        await kubelet.stop()
        await server.shutdown()
    }

    // MARK: - Controllers

    /// A configuration for tests: no cooldowns, quick resync.
    static func configuration(cooldown: Duration = .zero, requestCooldown: Duration = .zero, maxStepUp: Double = 2, maxStepDown: Double = 0.5,
                              resync: Duration = .milliseconds(200), forbiddenBackoff: Duration = .milliseconds(100)) -> ControllerConfiguration {
        ControllerConfiguration(cooldown: cooldown, requestCooldown: requestCooldown, maxStepUp: maxStepUp, maxStepDown: maxStepDown, resyncInterval: resync,
                                workers: 2, retryBaseDelay: .milliseconds(20), retryMaxDelay: .seconds(1),
                                forbiddenBackoff: forbiddenBackoff)
    }

    /// Runs a controller in a task of its own; returns the service and the task (cancel it to
    /// stop the controller as a killed process would: no graceful shutdown).
    @discardableResult
    func runController(_ configuration: ControllerConfiguration = configuration(), election: LeaderElectionConfiguration? = nil,
                       onLeadershipChange: (@Sendable (Bool) -> Void)? = nil) -> (service: ControllerService, task: Task<Void, any Error>) {
        let service = ControllerService(client: client, configuration: configuration, leaderElection: election,
                                        logger: quietLogger("controller"), onLeadershipChange: onLeadershipChange)
        let task = Task { try await service.run() }
        running.withLock { $0.append(task) }
        return (service, task)
    }

    // MARK: - Objects

    /// Creates a pod on node-a and starts it (the kubelet stand-in writes its status).
    @discardableResult
    func createPod(_ name: String, containers: [Container], annotations: [String: String]? = nil,
                   edit: (inout Pod) -> Void = { _ in }) async throws -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: Self.namespace), spec: PodSpec(nodeName: "node-a", containers: containers))
        pod.metadata.annotations = annotations
        edit(&pod)
        _ = try await client.resources(Pod.self, namespace: Self.namespace).create(pod)
        try kubelet.markRunning(namespace: Self.namespace, name: name)
        return try await self.pod(name)
    }

    /// A Burstable container: cpu request/limit as given, memory 64Mi requested and limited.
    static func container(_ name: String = "app", cpuRequest: String? = "250m", cpuLimit: String? = "500m",
                          memoryRequest: String? = "64Mi", memoryLimit: String? = "64Mi",
                          restartOnResize: Bool = false) -> Container {
        var requests: [String: String] = [:], limits: [String: String] = [:]
        if let cpuRequest { requests["cpu"] = cpuRequest }
        if let cpuLimit { limits["cpu"] = cpuLimit }
        if let memoryRequest { requests["memory"] = memoryRequest }
        if let memoryLimit { limits["memory"] = memoryLimit }
        return Container(name: name, image: "busybox",
                         resources: ResourceRequirements(requests: requests.isEmpty ? nil : requests, limits: limits.isEmpty ? nil : limits),
                         resizePolicy: [ContainerResizePolicy(resourceName: "cpu", restartPolicy: restartOnResize ? "RestartContainer" : "NotRequired")])
    }

    /// Writes the agent's decision for `pod`, as the agent does: same name, owner reference.
    @discardableResult
    func allocate(_ pod: Pod, _ containers: [ContainerAllocation], reason: String = "guardrail") async throws -> PodAllocation {
        let owner = OwnerReference(apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid ?? "",
                                   controller: true, blockOwnerDeletion: true)
        let allocation = PodAllocation(
            metadata: ObjectMeta(name: pod.metadata.name, namespace: Self.namespace, ownerReferences: [owner]),
            spec: PodAllocationSpec(podName: pod.metadata.name, podUID: pod.metadata.uid ?? "", nodeName: "node-a",
                                    containers: containers, reason: reason, shadowPrice: 0, decisionLatencyMicroseconds: 0,
                                    decisionTime: Timestamp.time()))
        return try await allocations.create(allocation)
    }

    /// Changes the decision (a new generation), as the agent's next round does.
    @discardableResult
    func reallocate(_ name: String, _ containers: [ContainerAllocation], reason: String = "contention") async throws -> PodAllocation {
        try await allocations.update(name) { allocation in
            allocation.spec.containers = containers
            allocation.spec.reason = reason
        }
    }

    /// Whether the allocation `name` is Applied with its first container running `limit`.
    func isApplied(_ name: String, limit: String) async throws -> Bool {
        let status = try await allocation(name).status
        return status?.phase == .applied && status?.appliedContainers?.first?.cpuLimit == cpu(limit)
    }

    var allocations: ResourceClient<PodAllocation> { client.resources(PodAllocation.self, namespace: Self.namespace) }

    func allocation(_ name: String) async throws -> PodAllocation { try await allocations.get(name) }

    func pod(_ name: String) async throws -> Pod { try await client.resources(Pod.self, namespace: Self.namespace).get(name) }

    /// The Events whose involved object is the pod `name`, oldest first.
    func events(_ name: String) async throws -> [Event] {
        try await client.resources(Event.self, namespace: Self.namespace).listAll().items
            .filter { $0.involvedObject.name == name }
            .sorted { ($0.metadata.resourceVersion.flatMap { Int($0) } ?? 0) < ($1.metadata.resourceVersion.flatMap { Int($0) } ?? 0) }
    }

    func lease(_ name: String = "mbcas-controller") async throws -> Lease? {
        do {
            return try await client.resources(Lease.self, namespace: Self.namespace).get(name)
        } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }
}

// MARK: - Pod reading

extension Pod {
    /// The container's cpu limit in the spec.
    func specLimit(_ container: String = "app") -> String? {
        spec.containers.first { $0.name == container }?.resources?.limits?["cpu"]
    }

    func specRequest(_ container: String = "app") -> String? {
        spec.containers.first { $0.name == container }?.resources?.requests?["cpu"]
    }

    /// What the kubelet reports the container running with.
    func actuated(_ container: String = "app") -> ResourceRequirements? {
        status?.containerStatuses?.first { $0.name == container }?.resources
    }
}

extension PodAllocation {
    var appliedCondition: Condition? { status?.conditions?.first { $0.type == "Applied" } }
    var reason: String? { appliedCondition?.reason }
}

func cpu(_ text: String) -> CPUQuantity {
    // Test literals are valid quantities.
    try! CPUQuantity(parsing: text)
}


/// Loggers for the pieces under test: silent unless `MBCAS_TEST_LOG` names a level.
func quietLogger(_ label: String) -> Logger {
    let level = ProcessInfo.processInfo.environment["MBCAS_TEST_LOG"].flatMap(Logger.Level.init(rawValue:))
    guard let level else { return Logger(label: label) { _ in SwiftLogNoOpLogHandler() } }
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}

// MARK: - Request log

/// The fixture's one log line per request, kept for counting.
final class RequestLog: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// Lines for which `matching` holds.
    func lines(_ matching: (String) -> Bool) -> [String] { lines.withLock { $0.filter(matching) } }

    /// Lines that start with `method` and whose path contains `fragment`.
    func count(_ method: String, _ fragment: String) -> Int {
        lines.withLock { $0.filter { $0.hasPrefix(method + " ") && $0.contains(fragment) }.count }
    }
}

struct RequestLogHandler: LogHandler {
    let log: RequestLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append(event.message.description)
    }
}
