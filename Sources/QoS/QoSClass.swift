/// A pod's Kubernetes quality-of-service class: the one enum for the kubelet's cgroup paths
/// (Cgroups), the API's `status.qosClass` (KubernetesClient), the controller's resize rules and the
/// market's rule to leave Guaranteed pods alone. Raw values are Kubernetes' own spellings.
///
/// An in-place resize may never change it: the kubelet puts each class in its own cgroup subtree
/// and gives it its own eviction order and OOM score, so the API server refuses such a resize (422).
public enum QoSClass: String, Sendable, Hashable, CaseIterable, Codable {
    /// Requests equal limits for every container: never resized by MBCAS.
    case guaranteed = "Guaranteed"
    /// Some requests or limits set: MBCAS may move its limit between floor and cap.
    case burstable = "Burstable"
    /// No requests or limits: MBCAS may move its limit between floor and cap.
    case bestEffort = "BestEffort"
}
