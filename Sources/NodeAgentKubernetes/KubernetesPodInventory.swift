import Cgroups
import KubernetesClient
import Logging
import Market
import NodeAgent
import QoS
import Synchronization

/// Kubernetes mode's pods: the API's pods bound to this node (an informer: LIST+WATCH with
/// `spec.nodeName=<node>`), each found in the kubelet's cgroup tree by its UID (systemd or
/// cgroupfs driver, any QoS class).
///
/// Managed: running pods whose pod cgroup the kubelet gives a CPU limit, i.e. every container,
/// init containers and native sidecars included, has one (a limit is what MBCAS moves; adding
/// one where there is none would change what the pod's owner asked for, and for BestEffort
/// pods the QoS class), and which the API server can resize at all (not a static pod's mirror,
/// no pod-level resources). Each pod left out is logged once with the reason. Guaranteed pods
/// are adopted but never changed.
/// Bounds (``PodCPU``: the kubelet's effective values, sidecars, init-container peak and
/// RuntimeClass overhead included): floor = annotation `mbcas.io/cpu-floor` (a quantity), else
/// the request its owner set (under weights actuation the agent moves the request: the one
/// before its first move is kept in the pod's PodAllocation, `spec.cpuFloor`), else the pod's
/// CPU request; cap = annotation `mbcas.io/cpu-cap` (a quantity), else the larger of the
/// configured default cap and the pod's own limit; weight = annotation `mbcas.io/weight` or the
/// default; declared class = annotation `mbcas.io/class` (`latency` or `batch`; absent: learned
/// from the scheduler).
/// The requests of the node's pods left out are counted (``othersRequestMillicores``): they hold
/// part of the node's allocatable, which the market must not divide again.
public final class KubernetesPodInventory: PodInventory {
    /// The pods of this node, as the API says.
    public let informer: Informer<Pod>
    /// The node whose pods these are.
    public let nodeName: String
    private let defaults: AgentConfiguration.PodSettings
    private let logger: Logger
    /// Pods already logged as left out (uid → reason), so each is said once, not every pass.
    private let reported = Mutex<[String: String]>([:])
    /// This node's PodAllocations, for the floors recorded in them.
    private let allocations = Mutex<Informer<PodAllocation>?>(nil)
    private let othersRequest = Atomic<Int>(0)

    public static let capAnnotation = "mbcas.io/cpu-cap"
    public static let floorAnnotation = "mbcas.io/cpu-floor"
    public static let weightAnnotation = "mbcas.io/weight"
    public static let classAnnotation = "mbcas.io/class"

    /// Reads floors recorded by earlier decisions (`spec.cpuFloor`) from `informer` (the writer's).
    public func recordFloors(from informer: Informer<PodAllocation>) {
        allocations.withLock { $0 = informer }
    }

    public var othersRequestMillicores: Int { othersRequest.load(ordering: .relaxed) }

    /// Creates the inventory; `informer.run` must be running (``KubernetesAgentService`` runs it).
    public init(client: APIClient, nodeName: String, defaults: AgentConfiguration.PodSettings, logger: Logger) {
        self.nodeName = nodeName
        self.defaults = defaults
        self.logger = logger
        informer = Informer(client.resources(Pod.self), options: ListOptions(fieldSelector: "spec.nodeName=\(nodeName)"),
                            logger: logger)
    }

    public func pods(index: CgroupIndex, hierarchy: CgroupHierarchy) throws(AgentError) -> [PodCandidate] {
        var podCgroups: [String: String] = [:]
        for path in index.pathsByID.values {
            if case .success(let identity) = KubeletPath.parseResult(path), identity.containerID == nil {
                podCgroups[identity.podUID] = identity.podCgroupPath
            }
        }
        var leftOut: [String: String] = [:]
        var others = 0
        let recorded = allocations.withLock { $0 }
        let candidates = informer.objects.compactMap { pod -> PodCandidate? in
            guard pod.status?.phase != "Succeeded", pod.status?.phase != "Failed" else { return nil }
            // The kubelet counts every pod it runs, terminating ones too, against allocatable.
            func other() -> PodCandidate? {
                others += Int((try? PodCPU(pod.spec).request) ?? 0)
                return nil
            }
            guard let uid = pod.metadata.uid, pod.metadata.deletionTimestamp == nil,
                  let relative = podCgroups[uid] else { return other() }
            let floor = recorded.flatMap { $0.object(pod.key) }.flatMap { allocation in
                allocation.spec.podUID == uid ? allocation.spec.cpuFloor.map { Int($0.millicores) } : nil
            }
            switch Self.eligibility(of: pod, defaults: defaults, recordedFloor: floor) {
            case .success(let settings):
                return PodCandidate(name: pod.key, cgroupPath: hierarchy.absolutePath(of: relative), settings: settings)
            case .failure(let reason):
                leftOut[uid] = reason.text
                if reported.withLock({ $0[uid] }) != reason.text {
                    logger.notice("pod not managed", metadata: ["pod": "\(pod.key)", "why": "\(reason.text)"])
                }
                return other()
            }
        }
        othersRequest.store(others, ordering: .relaxed)
        reported.withLock { $0 = leftOut }
        return candidates
    }

    /// Why MBCAS leaves a pod alone.
    public struct Unmanaged: Error, Sendable, Hashable {
        public var text: String
    }

    /// The bounds and standing of a pod, or why MBCAS must leave it alone.
    static func eligibility(of pod: Pod, defaults: AgentConfiguration.PodSettings,
                            recordedFloor: Int? = nil) -> Result<AgentConfiguration.PodSettings, Unmanaged> {
        guard !pod.spec.containers.isEmpty else { return .failure(Unmanaged(text: "the pod has no containers")) }
        if let never = pod.neverResizable { return .failure(Unmanaged(text: never.message)) }
        let cpu: PodCPU
        do { cpu = try PodCPU(pod.spec) } catch {
            return .failure(Unmanaged(text: "a CPU quantity does not parse: \(error.description)"))
        }
        guard let limit = cpu.limit else {
            return .failure(Unmanaged(text: "container \(cpu.unlimitedContainer ?? "?") has no CPU limit, so the kubelet leaves "
                                      + "the pod cgroup unlimited and there is no limit to move"))
        }
        var settings = defaults
        let annotations = pod.metadata.annotations ?? [:]
        let declaredFloor = annotations[floorAnnotation].flatMap { try? CPUQuantity(parsing: $0) }.map { Int($0.millicores) }
        settings.floor = max(10, declaredFloor ?? recordedFloor ?? Int(cpu.request))
        if let text = annotations[capAnnotation], let cap = try? CPUQuantity(parsing: text) {
            settings.cap = Int(cap.millicores)
        } else {
            // Never below what the pod's owner set: installing MBCAS must not shrink a big pod.
            settings.cap = max(settings.cap, Int(limit))
        }
        settings.cap = max(settings.cap, settings.floor)
        if let text = annotations[weightAnnotation], let weight = Double(text), weight > 0 { settings.weight = weight }
        settings.latencyClass = annotations[classAnnotation].flatMap { LatencyClass(rawValue: $0.lowercased()) } ?? defaults.latencyClass
        // The API's class (what the controller goes by too); Market's enum shares its raw values.
        settings.qos = QoSClass.of(pod)
        return .success(settings)
    }

    /// The bounds and standing of a pod; nil when MBCAS must leave it alone.
    static func settings(for pod: Pod, defaults: AgentConfiguration.PodSettings) -> AgentConfiguration.PodSettings? {
        try? eligibility(of: pod, defaults: defaults).get()
    }
}
