/// What to run: a pattern, how many threads run it, the seed of its schedule and for how long.
///
/// Codable so the demo can keep its pods in a file; ``commandLineArguments`` is the form
/// `mbcas workload` parses, the one way a spec crosses into a child process.
public struct WorkloadSpec: Sendable, Hashable, Codable {
    /// The pattern.
    public var kind: WorkloadKind
    /// Threads running the pattern side by side (bursty threads burst together).
    public var threads: Int
    /// Seed of the schedule: the same seed gives the same bursts and gaps, run after run.
    public var seed: UInt64
    /// Wall-clock run time in seconds; nil runs until stopped.
    public var durationSeconds: Double?

    /// Upper bound on ``threads``: far above any node the demo runs on, low enough that a typo cannot
    /// start thousands of spinning threads.
    public static let maxThreads = 256

    /// Creates a spec; `threads` defaults to the kind's ``WorkloadKind/defaultThreads``.
    public init(kind: WorkloadKind, threads: Int? = nil, seed: UInt64 = 1, durationSeconds: Double? = nil) {
        self.kind = kind
        self.threads = threads ?? kind.defaultThreads
        self.seed = seed
        self.durationSeconds = durationSeconds
    }

    /// Checks the ranges the runner accepts.
    ///
    /// - Throws: `.invalidSpec` naming the field and value.
    public func validate() throws(WorkloadError) {
        guard (1...Self.maxThreads).contains(threads) else {
            throw WorkloadError(
                .invalidSpec, "\(kind) workload: threads \(threads) is outside 1...\(Self.maxThreads)")
        }
        if let durationSeconds, !(durationSeconds.isFinite && durationSeconds > 0) {
            throw WorkloadError(
                .invalidSpec, "\(kind) workload: duration \(durationSeconds) s is not a positive number of seconds")
        }
    }

    /// The arguments of `mbcas workload` that run this spec, starting with the subcommand name.
    public var commandLineArguments: [String] {
        var arguments = ["workload", "--kind", kind.rawValue, "--threads", String(threads), "--seed", String(seed)]
        if let durationSeconds { arguments += ["--duration", String(durationSeconds)] }
        return arguments
    }
}
