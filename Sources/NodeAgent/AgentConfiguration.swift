import Foundation
import Market
import QoS

/// What `mbcas agent` manages in standalone mode, and how: read from a JSON
/// file (`--config`) and/or flags. Every field has a default; an invalid
/// value is reported with its field name.
///
/// ```json
/// {
///   "cgroup_parent": "/sys/fs/cgroup/cpu/mbcas-demo",
///   "capacity_millicores": 2000,
///   "reserve_millicores": 100,
///   "actuation": "weights",
///   "defaults": {"floor": 100, "cap": 2000, "weight": 1, "qos": "burstable"},
///   "pods": {"web": {"floor": 100, "cap": 1800, "weight": 2, "class": "latency"}},
///   "guardrail": {"step": 0.3, "interval_ms": 250},
///   "market": {"debounce_ms": 100, "reclaim_interval_ms": 2000, "cooldown_ms": 30000, "warmup_ms": 60000}
/// }
/// ```
public struct AgentConfiguration: Codable, Sendable, Equatable {
    /// The parent cgroup whose child cgroups are the managed "pods" (absolute path).
    public var cgroupParent: String
    /// The CPU the market divides, millicores (default: online CPUs × 1000).
    public var capacityMillicores: Int?
    /// CPU kept out of the market, millicores.
    public var reserveMillicores: Int
    /// Settings for pods not listed in `pods`.
    public var defaults: PodSettings
    /// Per-pod settings, by child cgroup name.
    public var pods: [String: PodSettings]
    /// The fast guardrail.
    public var guardrail: GuardrailSettings
    /// Market rounds and safety timing.
    public var market: MarketSettings
    /// What the agent moves: CFS weights with limits as caps (standalone), or limits alone
    /// (Kubernetes mode, until requests carry the weights there).
    public var actuation: Actuation

    /// The agent's main actuator.
    public enum Actuation: String, Codable, Sendable, CaseIterable {
        /// The market's shares become CFS weights (`cpu.shares` / `cpu.weight`); the node budget is the
        /// managed parent's quota; each pod's limit is its cap, raised to it the moment it throttles.
        case weights
        /// The market moves CFS limits (quotas) between floor and cap; a guardrail raises them on pushes.
        case limits
    }

    /// One pod's bounds and standing.
    public struct PodSettings: Codable, Sendable, Hashable {
        /// Never less than this, millicores (the pod's request).
        public var floor: Int
        /// Never more than this, millicores (its ceiling).
        public var cap: Int
        /// Bid weight (relative importance under contention).
        public var weight: Double
        /// QoS class; `guaranteed` pods are never touched.
        public var qos: QoSClass
        /// Declared latency class (`"latency"` or `"batch"`); nil: learned from the scheduler.
        public var latencyClass: LatencyClass?

        /// Creates settings.
        public init(floor: Int = 100, cap: Int = 2000, weight: Double = 1, qos: QoSClass = .burstable,
                    latencyClass: LatencyClass? = nil) {
            self.floor = floor
            self.cap = cap
            self.weight = weight
            self.qos = qos
            self.latencyClass = latencyClass
        }

        enum CodingKeys: String, CodingKey { case floor, cap, weight, qos, latencyClass = "class" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = PodSettings()
            floor = try c.decodeIfPresent(Int.self, forKey: .floor) ?? d.floor
            cap = try c.decodeIfPresent(Int.self, forKey: .cap) ?? d.cap
            weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? d.weight
            qos = try c.decodeIfPresent(QoSClass.self, forKey: .qos) ?? d.qos
            latencyClass = try c.decodeIfPresent(LatencyClass.self, forKey: .latencyClass)
        }
    }

    /// The fast guardrail's step and rate limit.
    public struct GuardrailSettings: Codable, Sendable, Equatable {
        /// Raise per throttle push, as a fraction of the current limit (0.3 = +30 %).
        public var step: Double
        /// At most one raise per pod per this many milliseconds.
        public var intervalMs: Int

        /// Creates settings.
        public init(step: Double = 0.3, intervalMs: Int = 250) {
            self.step = step
            self.intervalMs = intervalMs
        }

        enum CodingKeys: String, CodingKey { case step, intervalMs = "interval_ms" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = GuardrailSettings()
            step = try c.decodeIfPresent(Double.self, forKey: .step) ?? d.step
            intervalMs = try c.decodeIfPresent(Int.self, forKey: .intervalMs) ?? d.intervalMs
        }
    }

    /// When market rounds run and how fast CPU is given back.
    public struct MarketSettings: Codable, Sendable, Equatable {
        /// Pushed contention that is news (a cgroup's first stall after `repeat_debounce_ms` without
        /// one) triggers a round at most this often.
        public var debounceMs: Int
        /// A stall repeating a streak (its cgroup pushed within this interval) is already known:
        /// it triggers a round only once this long has passed since the last one. Keeps a node of
        /// always-throttled batch pods from running rounds at the debounce rate for nothing new.
        public var repeatDebounceMs: Int
        /// The slow pass: gives CPU back and reconciles with the cgroup files and the cumulative map.
        public var reclaimIntervalMs: Int
        /// No shrink until this long after a pod's last market raise.
        public var cooldownMs: Int
        /// A new pod is not shrunk for this long.
        public var warmupMs: Int

        /// Creates settings.
        public init(debounceMs: Int = 100, repeatDebounceMs: Int = 500, reclaimIntervalMs: Int = 2000,
                    cooldownMs: Int = 30_000, warmupMs: Int = 60_000) {
            self.debounceMs = debounceMs
            self.repeatDebounceMs = repeatDebounceMs
            self.reclaimIntervalMs = reclaimIntervalMs
            self.cooldownMs = cooldownMs
            self.warmupMs = warmupMs
        }

        enum CodingKeys: String, CodingKey {
            case debounceMs = "debounce_ms", repeatDebounceMs = "repeat_debounce_ms", reclaimIntervalMs = "reclaim_interval_ms"
            case cooldownMs = "cooldown_ms", warmupMs = "warmup_ms"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = MarketSettings()
            debounceMs = try c.decodeIfPresent(Int.self, forKey: .debounceMs) ?? d.debounceMs
            repeatDebounceMs = try c.decodeIfPresent(Int.self, forKey: .repeatDebounceMs) ?? d.repeatDebounceMs
            reclaimIntervalMs = try c.decodeIfPresent(Int.self, forKey: .reclaimIntervalMs) ?? d.reclaimIntervalMs
            cooldownMs = try c.decodeIfPresent(Int.self, forKey: .cooldownMs) ?? d.cooldownMs
            warmupMs = try c.decodeIfPresent(Int.self, forKey: .warmupMs) ?? d.warmupMs
        }
    }

    enum CodingKeys: String, CodingKey {
        case cgroupParent = "cgroup_parent", capacityMillicores = "capacity_millicores"
        case reserveMillicores = "reserve_millicores", defaults, pods, guardrail, market, actuation
    }

    /// Creates a configuration.
    public init(cgroupParent: String, capacityMillicores: Int? = nil, reserveMillicores: Int = 100,
                defaults: PodSettings = PodSettings(), pods: [String: PodSettings] = [:],
                guardrail: GuardrailSettings = GuardrailSettings(), market: MarketSettings = MarketSettings(),
                actuation: Actuation = .weights) {
        self.cgroupParent = cgroupParent
        self.capacityMillicores = capacityMillicores
        self.reserveMillicores = reserveMillicores
        self.defaults = defaults
        self.pods = pods
        self.guardrail = guardrail
        self.market = market
        self.actuation = actuation
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cgroupParent = try c.decodeIfPresent(String.self, forKey: .cgroupParent) ?? ""
        capacityMillicores = try c.decodeIfPresent(Int.self, forKey: .capacityMillicores)
        reserveMillicores = try c.decodeIfPresent(Int.self, forKey: .reserveMillicores) ?? 100
        defaults = try c.decodeIfPresent(PodSettings.self, forKey: .defaults) ?? PodSettings()
        pods = try c.decodeIfPresent([String: PodSettings].self, forKey: .pods) ?? [:]
        guardrail = try c.decodeIfPresent(GuardrailSettings.self, forKey: .guardrail) ?? GuardrailSettings()
        market = try c.decodeIfPresent(MarketSettings.self, forKey: .market) ?? MarketSettings()
        actuation = try c.decodeIfPresent(Actuation.self, forKey: .actuation) ?? .weights
    }

    /// Reads a configuration file; decoding errors name the field (JSON path).
    public static func load(path: String) throws(AgentError) -> AgentConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AgentError(.invalidConfiguration, "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(AgentConfiguration.self, from: data) } catch let error as DecodingError {
            throw AgentError(.invalidConfiguration, "\(path): \(describe(error))")
        } catch {
            throw AgentError(.invalidConfiguration, "\(path): \(error)")
        }
    }

    /// The settings that apply to the pod named `name`.
    public func settings(forPod name: String) -> PodSettings { pods[name] ?? defaults }

    /// Checks every field, naming the first bad one.
    public func validate() throws(AgentError) {
        func bad(_ field: String, _ why: String) -> AgentError { AgentError(.invalidConfiguration, "field \(field): \(why)") }
        guard cgroupParent.hasPrefix("/") else { throw bad("cgroup_parent", "must be an absolute path, got '\(cgroupParent)'") }
        if let capacity = capacityMillicores, capacity <= 0 { throw bad("capacity_millicores", "must be positive, got \(capacity)") }
        let capacity = capacityMillicores ?? 1000
        guard reserveMillicores >= 0, reserveMillicores < capacity else {
            throw bad("reserve_millicores", "must be in 0..<capacity (\(capacity)), got \(reserveMillicores)")
        }
        for (name, pod) in [("defaults", defaults)] + pods.sorted(by: { $0.key < $1.key }).map({ ("pods.\($0.key)", $0.value) }) {
            guard pod.floor >= 10 else { throw bad("\(name).floor", "must be at least 10 millicores, got \(pod.floor)") }
            guard pod.cap >= pod.floor else { throw bad("\(name).cap", "cap \(pod.cap) is below floor \(pod.floor)") }
            guard pod.weight.isFinite, pod.weight > 0 else { throw bad("\(name).weight", "must be a positive number, got \(pod.weight)") }
        }
        guard guardrail.step > 0, guardrail.step <= 1 else { throw bad("guardrail.step", "must be in (0, 1], got \(guardrail.step)") }
        guard guardrail.intervalMs >= 0 else { throw bad("guardrail.interval_ms", "must not be negative") }
        guard market.debounceMs > 0 else { throw bad("market.debounce_ms", "must be positive") }
        guard market.repeatDebounceMs >= market.debounceMs else {
            throw bad("market.repeat_debounce_ms", "must be at least market.debounce_ms (\(market.debounceMs))")
        }
        guard market.reclaimIntervalMs >= market.debounceMs else {
            throw bad("market.reclaim_interval_ms", "must be at least market.debounce_ms (\(market.debounceMs))")
        }
        guard market.cooldownMs >= 0 else { throw bad("market.cooldown_ms", "must not be negative") }
        guard market.warmupMs >= 0 else { throw bad("market.warmup_ms", "must not be negative") }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "field \(path(c)): \(c.debugDescription)"
        case .keyNotFound(let key, let c):
            return "field \((path(c).isEmpty ? "" : path(c) + ".") + key.stringValue): missing"
        case .dataCorrupted(let c):
            return path(c).isEmpty ? "not valid JSON: \(c.debugDescription)" : "field \(path(c)): \(c.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
