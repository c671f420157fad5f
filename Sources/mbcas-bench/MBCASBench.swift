import ArgumentParser

/// Benchmarks that print figures (median, p99, a baseline from the same
/// run); none asserts a timing.
@main
struct MBCASBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mbcas-bench",
        abstract: "MBCAS benchmarks: figures, not pass/fail.",
        subcommands: [ProbeBenchmark.self, MarketBench.self, PushLatencyBenchmark.self, AgentHotPathBenchmark.self]
    )
}
