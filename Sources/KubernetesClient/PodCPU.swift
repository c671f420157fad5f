/// A pod's CPU as the kubelet sizes its pod-level cgroup (`ResourceConfigForPod`, which uses
/// component-helpers' `PodLimits` / `PodRequests`):
/// - regular containers and restartable init containers (native sidecars, GA in 1.33) run side
///   by side: their amounts add up;
/// - a plain init container runs alone, beside only the sidecars started before it: the pod
///   needs the largest of those moments (the init-container peak) if it exceeds the sum;
/// - RuntimeClass `overhead` is added on top;
/// - if any container, init containers included, has no CPU limit, the pod cgroup gets no quota
///   at all (unlimited): MBCAS cannot move a limit that is not there.
public struct PodCPU: Sendable, Hashable {
    /// The pod cgroup's CPU limit (millicores), nil when the kubelet leaves it unlimited.
    public var limit: Int64?
    /// The pod's effective CPU request (millicores), what the scheduler and the cpu weight count.
    public var request: Int64
    /// Σ of the sidecars' limits (millicores): part of the pod's limit that resizes of the
    /// regular containers do not move.
    public var sidecarLimits: Int64
    /// RuntimeClass overhead (millicores), also part of the pod's limit.
    public var overhead: Int64
    /// The container without a CPU limit that leaves the pod cgroup unlimited, if any.
    public var unlimitedContainer: String?

    /// Computes it from the spec; throws on a malformed quantity.
    public init(_ spec: PodSpec) throws(QuantityError) {
        func amounts(_ container: Container) throws(QuantityError) -> (request: Int64, limit: Int64?) {
            let limit = try container.resources?.cpuLimit()?.millicores
            // API defaulting: a missing request is the limit.
            let request = try container.resources?.cpuRequest()?.millicores ?? limit ?? 0
            return (request, limit)
        }
        var unlimited: String?
        var regularRequest: Int64 = 0, regularLimit: Int64 = 0
        for container in spec.containers {
            let (request, limit) = try amounts(container)
            regularRequest += request
            regularLimit += limit ?? 0
            if limit == nil, unlimited == nil { unlimited = container.name }
        }
        var sidecarRequest: Int64 = 0, sidecarLimit: Int64 = 0
        var peakRequest: Int64 = 0, peakLimit: Int64 = 0
        for container in spec.initContainers ?? [] {
            let (request, limit) = try amounts(container)
            if limit == nil, unlimited == nil { unlimited = container.name }
            if container.isSidecar {
                sidecarRequest += request
                sidecarLimit += limit ?? 0
                peakRequest = max(peakRequest, sidecarRequest)
                peakLimit = max(peakLimit, sidecarLimit)
            } else {
                peakRequest = max(peakRequest, sidecarRequest + request)
                peakLimit = max(peakLimit, sidecarLimit + (limit ?? 0))
            }
        }
        overhead = try spec.overhead?["cpu"].map { text throws(QuantityError) in try CPUQuantity(parsing: text).millicores } ?? 0
        request = max(regularRequest + sidecarRequest, peakRequest) + overhead
        limit = unlimited == nil ? max(regularLimit + sidecarLimit, peakLimit) + overhead : nil
        sidecarLimits = sidecarLimit
        unlimitedContainer = unlimited
    }
}
