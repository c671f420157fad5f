import Cgroups
import KubernetesClient
import Logging
import Market

/// Kubernetes mode's pods: the API's pods bound to this node (an informer: LIST+WATCH with
/// `spec.nodeName=<node>`), each found in the kubelet's cgroup tree by its UID (systemd or
/// cgroupfs driver, any QoS class).
///
/// Managed: running pods whose every container has a CPU limit (a limit is what MBCAS moves;
/// adding one where there is none would change what the pod's owner asked for, and for
/// BestEffort pods the QoS class). Guaranteed pods are adopted but never changed.
/// Bounds: floor = the pod's CPU requests, cap = annotation `mbcas.io/cpu-cap` (a quantity), else
/// the larger of the configured default cap and the pod's own limits; weight = annotation
/// `mbcas.io/weight` or the default.
public final class KubernetesPodInventory: PodInventory {
    /// The pods of this node, as the API says.
    public let informer: Informer<Pod>
    /// The node whose pods these are.
    public let nodeName: String
    private let defaults: AgentConfiguration.PodSettings

    public static let capAnnotation = "mbcas.io/cpu-cap"
    public static let weightAnnotation = "mbcas.io/weight"

    /// Creates the inventory; `informer.run` must be running (``KubernetesAgentService`` runs it).
    public init(client: APIClient, nodeName: String, defaults: AgentConfiguration.PodSettings, logger: Logger) {
        self.nodeName = nodeName
        self.defaults = defaults
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
        return informer.objects.compactMap { pod in
            guard let uid = pod.metadata.uid, pod.metadata.deletionTimestamp == nil,
                  pod.status?.phase != "Succeeded", pod.status?.phase != "Failed",
                  let relative = podCgroups[uid],
                  let settings = Self.settings(for: pod, defaults: defaults) else { return nil }
            return PodCandidate(name: pod.key, cgroupPath: hierarchy.absolutePath(of: relative), settings: settings)
        }
    }

    /// The bounds and standing of a pod; nil when MBCAS must leave it alone (a container
    /// without a CPU limit, or a malformed quantity).
    static func settings(for pod: Pod, defaults: AgentConfiguration.PodSettings) -> AgentConfiguration.PodSettings? {
        var requests: Int64 = 0
        var limits: Int64 = 0
        for container in pod.spec.containers {
            guard let limit = try? container.resources?.cpuLimit() else { return nil }
            limits += limit.millicores
            requests += (try? container.resources?.cpuRequest())??.millicores ?? limit.millicores
        }
        guard !pod.spec.containers.isEmpty else { return nil }
        var settings = defaults
        settings.floor = max(10, Int(requests))
        let annotations = pod.metadata.annotations ?? [:]
        if let text = annotations[capAnnotation], let cap = try? CPUQuantity(parsing: text) {
            settings.cap = Int(cap.millicores)
        } else {
            // Never below what the pod's owner set: installing MBCAS must not shrink a big pod.
            settings.cap = max(settings.cap, Int(limits))
        }
        settings.cap = max(settings.cap, settings.floor)
        if let text = annotations[weightAnnotation], let weight = Double(text), weight > 0 { settings.weight = weight }
        // The API's class (what the controller goes by too); Market's enum shares its raw values.
        settings.qos = QoSClass(rawValue: PodQoS.of(pod).rawValue) ?? .burstable
        return settings
    }
}
