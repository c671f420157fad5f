import Market

/// The knobs of the MBCAS policies; defaults are the agent's. Times are nanoseconds.
public struct MBCASSettings: Sendable, Hashable {
    /// Guardrail raise per throttle, as a fraction of the limit. Default 0.3.
    public var guardrailStep: Double
    /// At most one guardrail raise per pod per this long. Default 250 ms.
    public var guardrailInterval: Int
    /// The demand model's EMA half-life. Default 3 s.
    public var halfLife: Int
    /// The demand model's hysteresis deadband (relative). Default 0.05.
    public var deadband: Double
    /// Push policy: a pushed stall runs a market round at most this often. Default 100 ms.
    public var debounce: Int
    /// Push policy: the slow pass runs a round this often whatever happens. Default 2 s.
    public var slowPass: Int
    /// Push policy: kernel event → agent, nanoseconds. Default 100 µs.
    public var pushLatency: Int
    /// Polling policy: how often cpu.stat is read (and a round runs). Default 1 s.
    public var pollInterval: Int
    /// No shrink this long after a market raise. Default 30 s.
    public var cooldown: Int
    /// A new pod is not shrunk for this long. Default 60 s.
    public var warmup: Int
    /// Whether run-queue wait enters the demand samples, as in the agent. Default true; false is an
    /// ablation that shows how much of the demand estimate the wait makes up.
    public var demandIncludesWait: Bool
    /// Weights policies: the `WeightPlanner`'s configuration (deadband, class boosts, learner).
    /// Default the agent's.
    public var weightPlanner: WeightPlannerConfig

    /// Creates settings; every parameter has the default documented on its property.
    public init(guardrailStep: Double = 0.3, guardrailInterval: Int = 250 * SimTime.millisecond,
                halfLife: Int = 3 * SimTime.second, deadband: Double = 0.05,
                debounce: Int = 100 * SimTime.millisecond, slowPass: Int = 2 * SimTime.second,
                pushLatency: Int = 100_000, pollInterval: Int = SimTime.second,
                cooldown: Int = 30 * SimTime.second, warmup: Int = 60 * SimTime.second,
                demandIncludesWait: Bool = true, weightPlanner: WeightPlannerConfig = WeightPlannerConfig()) {
        self.guardrailStep = guardrailStep
        self.guardrailInterval = guardrailInterval
        self.halfLife = halfLife
        self.deadband = deadband
        self.debounce = debounce
        self.slowPass = slowPass
        self.pushLatency = pushLatency
        self.pollInterval = pollInterval
        self.cooldown = cooldown
        self.warmup = warmup
        self.demandIncludesWait = demandIncludesWait
        self.weightPlanner = weightPlanner
    }

    /// Checks the simulator's own settings (Market checks its own when the driver is built).
    func validate() throws(EvaluationError) {
        guard debounce > 0, slowPass > 0, pollInterval > 0, pushLatency >= 0 else {
            throw .invalidSetting("debounce, slow pass and poll interval must be positive, push latency ≥ 0")
        }
    }
}
