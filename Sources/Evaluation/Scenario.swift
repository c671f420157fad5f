import Market

/// The moment a pod's demand jumps: the reaction time is how long until its limit first rises.
public struct ReactionProbe: Sendable, Hashable {
    /// The pod whose demand jumps.
    public var pod: Int
    /// When, nanoseconds from the start.
    public var time: Int

    /// Creates a probe.
    public init(pod: Int, time: Int) {
        self.pod = pod
        self.time = time
    }
}

/// One pod of a scenario: what Kubernetes and MBCAS know about it, and how parallel it is.
public struct PodSpec: Sendable, Hashable {
    /// Its name (the trace's column).
    public var name: String
    /// Its request, millicores: MBCAS's floor, and its CFS weight under node contention
    /// (the kubelet sets cpu.weight from the request).
    public var request: Int
    /// The most any policy may give it, millicores.
    public var cap: Int
    /// Its limit at the start, millicores (every policy starts here; `static` stays here).
    public var initialLimit: Int
    /// Its bid weight in the market.
    public var weight: Double
    /// The most CPUs it can use at once (its runnable threads): queued work drains at most this fast.
    public var threads: Double
    /// Its class as an operator would declare it (nil: not declared). Hand-weighted fair share and
    /// the MBCAS policies with class hints read it; the others learn or ignore it.
    public var latencyClass: LatencyClass?

    /// Creates a pod.
    public init(name: String, request: Int = 250, cap: Int = 4000, initialLimit: Int = 1000,
                weight: Double = 1, threads: Double = 4, latencyClass: LatencyClass? = nil) {
        self.name = name
        self.request = request
        self.cap = cap
        self.initialLimit = initialLimit
        self.weight = weight
        self.threads = threads
        self.latencyClass = latencyClass
    }
}

/// A node, its pods and their demand: one row group of the results.
public struct Scenario: Sendable, Hashable {
    /// Its name in the results (the trace kind, or the CSV file's name).
    public var name: String
    /// The node's allocatable CPU, millicores.
    public var capacity: Int
    /// CPU MBCAS keeps out of the market, millicores.
    public var reserve: Int
    /// The pods, in the trace's column order.
    public var pods: [PodSpec]
    /// Their offered load.
    public var trace: DemandTrace
    /// Simulated time, nanoseconds.
    public var duration: Int
    /// The jump the reaction time is measured from, if any.
    public var probe: ReactionProbe?

    /// Whether some pod's class is declared (hand weights and class hints apply).
    public var declaresClasses: Bool { pods.contains { $0.latencyClass != nil } }

    /// This scenario with the pods named in `classes` declared of that class (others unchanged).
    public func declaring(_ classes: [String: LatencyClass]) -> Scenario {
        var copy = self
        for index in copy.pods.indices {
            if let declared = classes[copy.pods[index].name] { copy.pods[index].latencyClass = declared }
        }
        return copy
    }

    /// Creates a scenario.
    /// - Throws: ``EvaluationError/invalidSetting(_:)`` when the pods do not match the trace's
    ///   columns, or for a capacity, reserve, duration or pod setting out of range.
    public init(name: String, capacity: Int, reserve: Int, pods: [PodSpec], trace: DemandTrace,
                duration: Int, probe: ReactionProbe? = nil) throws(EvaluationError) {
        guard capacity > 0 else { throw .invalidSetting("capacity must be positive") }
        guard reserve >= 0, reserve < capacity else { throw .invalidSetting("reserve must be in 0..<capacity") }
        guard duration > 0 else { throw .invalidSetting("duration must be positive") }
        guard pods.map(\.name) == trace.pods else {
            throw .invalidSetting("pods \(pods.map(\.name)) do not match the trace's columns \(trace.pods)")
        }
        for pod in pods {
            guard pod.request >= 1, pod.cap >= pod.request, pod.initialLimit >= 1, pod.initialLimit <= pod.cap,
                  pod.weight >= 0, pod.weight.isFinite, pod.threads > 0, pod.threads.isFinite else {
                throw .invalidSetting("pod \(pod.name): need 1 ≤ request ≤ cap, 1 ≤ initial limit ≤ cap, weight ≥ 0, threads > 0")
            }
        }
        if let probe, !pods.indices.contains(probe.pod) { throw .invalidSetting("probe pod \(probe.pod) does not exist") }
        self.name = name
        self.capacity = capacity
        self.reserve = reserve
        self.pods = pods
        self.trace = trace
        self.duration = duration
        self.probe = probe
    }

    /// The standard scenario of a generated trace: a 4-CPU node (100 m reserve), pods with a 250 m
    /// request, the node as cap, a 1-CPU initial limit and 4 threads.
    /// - Parameters:
    ///   - kind: The trace.
    ///   - pods: How many pods (default 4).
    ///   - duration: Simulated time, nanoseconds (default 10 minutes).
    ///   - seed: The trace's seed.
    ///   - capacity: The node, millicores (also every pod's cap).
    ///   - reserve: MBCAS's reserve, millicores.
    ///   - initialLimit: Every pod's starting limit, millicores.
    ///   - threads: Every pod's runnable threads.
    public static func generated(_ kind: TraceKind, pods: Int = 4, duration: Int = 600 * SimTime.second,
                                 seed: UInt64 = 1, capacity: Int = 4000, reserve: Int = 100,
                                 initialLimit: Int = 1000, threads: Double = 4) throws(EvaluationError) -> Scenario {
        let generated = try TraceGenerator.generate(kind, pods: pods, duration: duration, seed: seed)
        return try Scenario(name: kind.rawValue, capacity: capacity, reserve: reserve,
                            pods: generated.trace.pods.indices.map {
                                PodSpec(name: generated.trace.pods[$0], cap: capacity, initialLimit: initialLimit,
                                        threads: threads, latencyClass: generated.classes[$0])
                            },
                            trace: generated.trace, duration: duration, probe: generated.probe)
    }

    /// A scenario replaying a trace read from CSV, with the standard node and pods; it runs for
    /// the trace's length unless `duration` is given (the last step's load holds beyond it).
    public static func replaying(_ trace: DemandTrace, name: String, duration: Int? = nil, capacity: Int = 4000,
                                 reserve: Int = 100, initialLimit: Int = 1000,
                                 threads: Double = 4) throws(EvaluationError) -> Scenario {
        try Scenario(name: name, capacity: capacity, reserve: reserve,
                     pods: trace.pods.map {
                         PodSpec(name: $0, cap: capacity, initialLimit: Swift.min(initialLimit, capacity), threads: threads)
                     },
                     trace: trace, duration: duration ?? trace.duration)
    }
}
