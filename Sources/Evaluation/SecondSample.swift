/// One pod in one simulated second: the time series behind the plots.
public struct SecondSample: Sendable, Hashable {
    /// The second's start, seconds from the start of the run.
    public var second: Int
    /// The pod.
    public var pod: Int
    /// Mean offered load, CPUs.
    public var demand: Double
    /// Mean CPU used, CPUs.
    public var used: Double
    /// Mean limit (granted CPU), CPUs.
    public var limit: Double
    /// Throttled time in the second, seconds.
    public var throttled: Double
    /// Peak queueing delay of the work offered in the second, milliseconds (``QueueDelay``).
    public var peakLatencyMs: Double
}
