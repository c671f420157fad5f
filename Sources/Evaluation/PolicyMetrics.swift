/// One policy's results on one scenario.
public struct PolicyMetrics: Sendable, Hashable {
    /// The policy's name.
    public var policy: String
    /// Wall time the pods spent throttled, summed over pods, seconds.
    public var throttledSeconds: Double
    /// Seconds in which a pod's modelled latency exceeded the SLO, summed over pods.
    public var sloViolationSeconds: Double
    /// CPU used / CPU granted by the limits (limits above the node count as the node).
    public var efficiency: Double
    /// Mean Jain index over the contended periods of used / fair share (nil: no contention).
    public var jain: Double?
    /// Limit writes that changed a limit, summed over pods.
    public var changes: Int
    /// CFS weight writes that changed a weight, summed over pods.
    public var weightWrites: Int
    /// Changes of a limit or a weight whose direction (up or down) differs from the same pod's
    /// previous change of that knob.
    public var reversals: Int
    /// Seconds from the probe's jump to the first raise of that pod's limit (nil: no probe, or
    /// never raised).
    public var reactionSeconds: Double?
    /// CPU used, CPU-seconds.
    public var usedCPUSeconds: Double
    /// CPU granted by the limits, CPU-seconds.
    public var allocatedCPUSeconds: Double
    /// Periods (100 ms) in which the pods wanted more than the node.
    public var contendedPeriods: Int
    /// SLO-violation seconds of the pods the scenario declares latency-sensitive (nil: none declared).
    public var latencySLOViolationSeconds: Double?

    /// Creates metrics.
    public init(policy: String, throttledSeconds: Double, sloViolationSeconds: Double, efficiency: Double,
                jain: Double?, changes: Int, reversals: Int, reactionSeconds: Double?,
                usedCPUSeconds: Double, allocatedCPUSeconds: Double, contendedPeriods: Int,
                weightWrites: Int = 0, latencySLOViolationSeconds: Double? = nil) {
        self.policy = policy
        self.throttledSeconds = throttledSeconds
        self.sloViolationSeconds = sloViolationSeconds
        self.efficiency = efficiency
        self.jain = jain
        self.changes = changes
        self.reversals = reversals
        self.reactionSeconds = reactionSeconds
        self.usedCPUSeconds = usedCPUSeconds
        self.allocatedCPUSeconds = allocatedCPUSeconds
        self.contendedPeriods = contendedPeriods
        self.weightWrites = weightWrites
        self.latencySLOViolationSeconds = latencySLOViolationSeconds
    }
}
