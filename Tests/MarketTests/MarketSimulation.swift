#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
@testable import Market
import QoS


// Test support: a round-by-round simulation of NodeMarket, moved out of the Market module, which
// ships only what the agent runs (the simulator users run is `mbcas simulate`, in Evaluation).

/// A pod's CPU need over simulated rounds, in millicores.
public enum LoadProfile: Sendable, Hashable {
    /// The same need every round.
    case constant(Double)
    /// `before` until round `atRound`, then `after`.
    case step(before: Double, after: Double, atRound: Int)
    /// `base`, except `peak` for `rounds` rounds from round `fromRound`.
    case spike(base: Double, peak: Double, fromRound: Int, rounds: Int)
    /// mean + amplitude·sin(2π·(round / period) + phase).
    case seasonal(mean: Double, amplitude: Double, period: Int, phase: Double)

    /// The need in round `round`, never negative.
    public func need(atRound round: Int) -> Double {
        let value: Double
        switch self {
        case .constant(let need):
            value = need
        case .step(let before, let after, let atRound):
            value = round < atRound ? before : after
        case .spike(let base, let peak, let fromRound, let rounds):
            value = round >= fromRound && round < fromRound + rounds ? peak : base
        case .seasonal(let mean, let amplitude, let period, let phase):
            value = mean + amplitude * sin(2 * Double.pi * Double(round) / Double(Swift.max(1, period)) + phase)
        }
        return Swift.max(0, value)
    }
}

/// One simulated pod.
public struct SimulatedPod: Sendable, Hashable {
    /// Its name (for reports).
    public var name: String
    /// Its CPU need over time.
    public var load: LoadProfile
    /// Its floor (request), in millicores.
    public var floor: Int
    /// Its cap (ceiling), in millicores.
    public var cap: Int
    /// Its weight in the bid.
    public var weight: Double
    /// Its QoS class.
    public var qos: QoSClass
    /// Its limit at round 0, in millicores.
    public var initialLimit: Int
    /// Fraction of each window its threads wait for something more CPU cannot fix (I/O, locks),
    /// reported as run-queue wait: raising such a pod is ineffective scaling.
    public var unfixableWait: Double

    /// Creates a simulated pod.
    /// - Parameters:
    ///   - name: Name for reports.
    ///   - load: Need over time.
    ///   - floor: Floor in millicores.
    ///   - cap: Cap in millicores.
    ///   - weight: Weight in the bid (default 1).
    ///   - qos: QoS class (default Burstable).
    ///   - initialLimit: Limit at round 0 in millicores.
    ///   - unfixableWait: Fraction of each window spent waiting regardless of CPU (default 0).
    public init(name: String, load: LoadProfile, floor: Int, cap: Int, weight: Double = 1,
                qos: QoSClass = .burstable, initialLimit: Int, unfixableWait: Double = 0) {
        self.name = name
        self.load = load
        self.floor = floor
        self.cap = cap
        self.weight = weight
        self.qos = qos
        self.initialLimit = initialLimit
        self.unfixableWait = unfixableWait
    }
}

/// Settings of a node simulation.
public struct SimulationConfig: Sendable {
    /// The node's allocatable CPU in millicores.
    public var capacity: Int
    /// CPU kept out of the market, in millicores (used for the market, the rules and the guardrail).
    public var reserve: Int
    /// One round (market period and accounting window). Default 1 s.
    public var window: Duration
    /// Sub-steps per window at which throttling is checked and the guardrail may fire. Default 4.
    public var guardrailChecksPerWindow: Int
    /// The demand model's settings.
    public var demand: DemandConfig
    /// The safety rules' settings (their reserve is replaced by ``reserve``).
    public var safety: SafetyConfig
    /// The guardrail's settings, or nil to run without it (its reserve is replaced by ``reserve``).
    public var guardrail: GuardrailConfig?
    /// Relative noise on the kernel's accounting, uniform in ±noise. Default 0.02.
    public var noise: Double
    /// Seed of the noise; equal seeds give equal runs.
    public var seed: UInt64

    /// Creates a configuration.
    public init(capacity: Int, reserve: Int = 0, window: Duration = .seconds(1), guardrailChecksPerWindow: Int = 4,
                demand: DemandConfig = DemandConfig(), safety: SafetyConfig = SafetyConfig(),
                guardrail: GuardrailConfig? = GuardrailConfig(), noise: Double = 0.02, seed: UInt64 = 1) {
        self.capacity = capacity
        self.reserve = reserve
        self.window = window
        self.guardrailChecksPerWindow = guardrailChecksPerWindow
        self.demand = demand
        self.safety = safety
        self.guardrail = guardrail
        self.noise = noise
        self.seed = seed
    }
}

/// What happened in one simulated round.
public struct SimulationRound: Sendable {
    /// Round number, from 0.
    public var round: Int
    /// Monotonic time of the market round, nanoseconds.
    public var now: UInt64
    /// Each pod's need in the window, millicores.
    public var needs: [Double]
    /// Each pod's demand estimate after the window.
    public var estimates: [DemandEstimate]
    /// The market's problem (bounds from ``SafetyRules/marketBounds(for:now:)``).
    public var problem: AllocationProblem
    /// The market's answer.
    public var allocation: Allocation
    /// The safety rules' decisions, one per pod.
    public var decisions: [Decision]
    /// Guardrail raises during the window.
    public var guardrailDecisions: [Decision]
    /// Limits in force after the round, millicores.
    public var limits: [Int]
}

/// A deterministic node: synthetic kernel accounting → demand model → market (``WaterFilling``)
/// → ``SafetyRules``, plus the ``Guardrail`` on throttling within each window. Time is simulated:
/// round k happens at k × window. Reusable by a trace-driven simulator: only ``LoadProfile``
/// stands for the trace.
///
/// Synthetic accounting for a pod needing n millicores under limit L over a sub-window of length
/// τ: run = min(n, L)·τ/1000 ns of CPU, throttled = τ·(1 − L/n) when n > L, wait = unfixableWait·τ;
/// run and throttled carry ±noise relative noise.
public struct NodeSimulation: Sendable {
    /// The pods, in slot order (pod i has slot i).
    public let pods: [SimulatedPod]
    /// The configuration.
    public let config: SimulationConfig
    /// Limits in force now, millicores.
    public private(set) var limits: [Int]
    /// The next round's number.
    public private(set) var round = 0
    /// The market: demand models, safety rules, allocator.
    public private(set) var market: NodeMarket
    /// The safety rules' state.
    public var safety: SafetyRules { market.safety }
    /// The guardrail's state, if enabled.
    public private(set) var guardrail: Guardrail?
    private var random: SplitMix64
    private let windowNanos: UInt64
    private let start: UInt64 = 1_000_000_000

    /// Creates a simulation.
    /// - Throws: ``MarketError`` for invalid settings or pods.
    public init(pods: [SimulatedPod], config: SimulationConfig) throws(MarketError) {
        self.pods = pods
        self.config = config
        windowNanos = try config.window.nanoseconds(field: "window")
        guard windowNanos > 0 else { throw .configuration("window", "window must be positive") }
        guard config.guardrailChecksPerWindow >= 1 else {
            throw .configuration("guardrailChecksPerWindow", "guardrailChecksPerWindow must be at least 1")
        }
        market = try NodeMarket(capacity: config.capacity, reserve: config.reserve, demand: config.demand,
                                safety: config.safety)
        limits = pods.map(\.initialLimit)
        random = SplitMix64(seed: config.seed)
        if var guardConfig = config.guardrail {
            guardConfig.reserve = config.reserve
            var rail = try Guardrail(slotCount: pods.count, capacity: config.capacity, config: guardConfig)
            for (index, pod) in pods.enumerated() {
                try rail.track(PodSlot(index), limit: pod.initialLimit, cap: pod.cap, qos: pod.qos)
            }
            guardrail = rail
        }
    }

    /// Runs `rounds` rounds and returns them.
    public mutating func run(rounds: Int) throws(MarketError) -> [SimulationRound] {
        var out: [SimulationRound] = []
        out.reserveCapacity(rounds)
        for _ in 0..<rounds { out.append(try step()) }
        return out
    }

    /// Runs one round: the window's accounting (with guardrail checks), then the market round.
    public mutating func step() throws(MarketError) -> SimulationRound {
        let now = start + UInt64(round + 1) * windowNanos
        let windowStart = now - windowNanos
        let checks = config.guardrailChecksPerWindow
        let subWindow = Double(windowNanos) / Double(checks)
        let needs = pods.map { $0.load.need(atRound: round) }

        var run = [Double](repeating: 0, count: pods.count)
        var throttled = [Double](repeating: 0, count: pods.count)
        var limitTime = [Double](repeating: 0, count: pods.count)
        var guardDecisions: [Decision] = []
        for check in 0..<checks {
            let checkTime = windowStart + UInt64(Double(check + 1) * subWindow)
            for index in pods.indices {
                let limit = Double(limits[index])
                let need = needs[index]
                let served = Swift.min(need, limit)
                run[index] += served / 1000 * subWindow * (1 + config.noise * random.symmetric())
                var stalled = 0.0
                if need > limit, need > 0 {
                    // As the kernel counts it: throttled time summed over the CPUs the pod's
                    // threads are throttled on, i.e. the CPU the limit denies, (need − limit).
                    stalled = subWindow * (need - limit) / 1000 * (1 + config.noise * random.symmetric())
                    throttled[index] += stalled
                }
                limitTime[index] += limit * subWindow
                if stalled > 0, let decision = guardrail?.onThrottle(PodSlot(index), now: checkTime) {
                    limits[index] = decision.newLimit
                    guardDecisions.append(decision)
                }
            }
        }

        let window = Double(windowNanos)
        let inputs = pods.enumerated().map { index, pod in
            RoundInput(
                member: MarketMember(slot: PodSlot(index), name: pod.name, floor: pod.floor, cap: pod.cap,
                                     qos: pod.qos, weight: pod.weight),
                sample: DemandSample(
                    throttledNanos: UInt64(Swift.max(0, throttled[index])),
                    waitNanos: UInt64(window * pod.unfixableWait),
                    runNanos: UInt64(Swift.max(0, run[index])),
                    limitMillicores: Swift.max(1, limitTime[index] / window),
                    windowNanos: windowNanos),
                currentLimit: limits[index])
        }
        let result = try market.round(inputs, now: now)
        for decision in result.decisions { limits[decision.pod.rawValue] = decision.newLimit }
        guardrail?.absorb(result.decisions, safety: market.safety, now: now)

        let record = SimulationRound(round: round, now: now, needs: needs, estimates: result.estimates,
                                     problem: result.problem, allocation: result.allocation,
                                     decisions: result.decisions, guardrailDecisions: guardDecisions, limits: limits)
        round += 1
        return record
    }
}
