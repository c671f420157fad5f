/// What the kernel would push the moment it happens: MBCAS's probes report a cgroup's throttle
/// start and tasks waiting on a run queue. Only the push policy hears these (after its push
/// latency); the others read counters at their own cadence.
public enum NodeSignal: Sendable, Hashable {
    /// The pod's quota ran out at `at` and it was throttled.
    case throttled(pod: Int, at: Int)
    /// The pod's threads had waited for a CPU past the probe's threshold (5 ms) in this period by
    /// `at` (at most one per pod per period).
    case waiting(pod: Int, at: Int)

    /// The pod.
    public var pod: Int {
        switch self {
        case .throttled(let pod, _), .waiting(let pod, _): pod
        }
    }

    /// When it happened, nanoseconds.
    public var time: Int {
        switch self {
        case .throttled(_, let at), .waiting(_, let at): at
        }
    }
}
