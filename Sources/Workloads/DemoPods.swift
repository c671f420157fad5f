public import Cgroups

/// One pod of the demo: its workload, the static limit it gets without MBCAS, and what the agent
/// is told about it.
public struct DemoPod: Sendable, Hashable, Codable {
    /// The pod's name, also its cgroup's name.
    public var name: String
    /// What runs in it (no duration: pods run until the demo stops them).
    public var spec: WorkloadSpec
    /// The static CFS limit of the baseline run, in millicores.
    public var staticLimitMillicores: Int64
    /// The least the agent may give it, in millicores.
    public var floorMillicores: Int64
    /// The most the agent may give it, in millicores.
    public var capMillicores: Int64
    /// Its share of contested CPU relative to the other pods (the market's bid).
    public var weight: Double

    /// Creates a pod from its fields.
    public init(
        name: String, spec: WorkloadSpec, staticLimitMillicores: Int64,
        floorMillicores: Int64, capMillicores: Int64, weight: Double
    ) {
        self.name = name
        self.spec = spec
        self.staticLimitMillicores = staticLimitMillicores
        self.floorMillicores = floorMillicores
        self.capMillicores = capMillicores
        self.weight = weight
    }

    /// The static limit as a CFS quota over the default 100 ms period.
    public var staticLimit: CPULimit { CPULimit(millicores: staticLimitMillicores) }

    /// The most CPU its threads can use at once, in millicores (a full CPU per thread).
    public var peakDemandMillicores: Int64 { Int64(spec.threads) * 1000 }
}

/// The demo's standard node: four pods sharing two CPUs, one of each ``WorkloadKind``.
///
/// Static limits (sum 1600m: the 2000m node minus 400m kept for the system, the kubelet and the
/// agent, as a node's allocatable would be):
/// - bursty 300m: sized on its quiet periods, as limits usually are. Each burst wants 2000m (two
///   threads) for 150-600 ms, so in every 100 ms period of a burst it runs 30 ms of the 200 ms it
///   asks for and is throttled for the rest: the pod static limits hurt most.
/// - steady 500m: above its constant 400m, so it is never throttled; the control that shows
///   the agent does not take CPU away from a pod that needs it.
/// - hog 700m: a batch job always throttled, whatever it gets; the reservoir the agent draws on.
/// - idle 100m: ten times its ~10m, as sidecars are given.
///
/// Agent bounds: floors are what each pod is promised, as a Kubernetes request would be: bursty
/// keeps its 300m, steady its 400m (so the market never cuts a pod below what it steadily uses),
/// hog 200m, idle 100m (Σ 1000m, inside the 1600m the agent divides). Caps: bursty 1800m, nearly the
/// whole node (it may take it all while the others are quiet, leaving 200m); steady 1000m (it never
/// needs more than its 400m, a cap keeps a runaway in check); hog 1500m (batch may fill a quiet node
/// but leaves room for a burst to start); idle 300m. Weights favour the latency-sensitive pods:
/// bursty 3, steady 2, hog 1, idle 1.
public enum DemoPods {
    /// The node's CPU capacity the table is designed for, in millicores.
    public static let nodeCapacityMillicores: Int64 = 2000

    /// The four pods, in the order the demo shows them.
    public static let standard: [DemoPod] = [
        DemoPod(
            name: "bursty", spec: WorkloadSpec(kind: .bursty, threads: 2, seed: 42),
            staticLimitMillicores: 300, floorMillicores: 300, capMillicores: 1800, weight: 3),
        DemoPod(
            name: "steady", spec: WorkloadSpec(kind: .steady, threads: 1, seed: 7),
            staticLimitMillicores: 500, floorMillicores: 400, capMillicores: 1000, weight: 2),
        DemoPod(
            name: "hog", spec: WorkloadSpec(kind: .hog, threads: 2, seed: 11),
            staticLimitMillicores: 700, floorMillicores: 200, capMillicores: 1500, weight: 1),
        DemoPod(
            name: "idle", spec: WorkloadSpec(kind: .idle, threads: 1, seed: 3),
            staticLimitMillicores: 100, floorMillicores: 100, capMillicores: 300, weight: 1),
    ]

    /// The pod named `name` in ``standard``.
    public static func pod(named name: String) -> DemoPod? { standard.first { $0.name == name } }
}
