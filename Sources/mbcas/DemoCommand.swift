import ArgumentParser
import Cgroups
import Foundation
import KernelProbe
import Logging
import Market
import NodeAgent
import ProcessControl
import Workloads

/// `mbcas demo`: the same four workloads under static limits, then under
/// the agent, side by side, on this machine's real cgroups.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show MBCAS at work: four pods under static limits, the kernel's fair share, then the agent (root).",
        discussion: """
            Creates a parent cgroup (mbcas-demo) with four children, each running a built-in \
            workload: bursty (two threads bursting 150-600 ms at a time), steady (40 % of a CPU), hog \
            (two threads spinning) and idle (a sidecar). The parent carries the node budget (1600m) \
            in every phase. The same workloads, with the same random seeds, run in three phases: \
            static limits (bursty 300m, steady 500m, hog 700m, idle 100m); the kernel's fair share \
            (no per-pod limits, weights from the floors: what many users get by dropping limits); \
            and `mbcas agent`, which sets weights, caps and bursts. --repeat runs the three phases \
            again, interleaved, and the summary gives the median and the spread (min–max) of each \
            pod's CPU time, throttled time and run-queue wait, the agent's decisions and learned \
            classes, and the kernel-push → cgroup-write latency. A table updates in place every \
            second. Everything it created is removed at the end, also on Ctrl-C. While it runs: \
            `mbcas top --pin-root \(Self.pinRoot)`.
            """
    )

    static let pinRoot = "/sys/fs/bpf/mbcas-demo"
    static let parentName = "mbcas-demo"

    @Option(help: "Seconds per repetition, split evenly between the three phases (10-600).")
    var duration: Double = 45

    @Option(help: "How many times to run the three phases, interleaved (1-10).")
    var `repeat` = 1

    @Flag(help: "Print only the summary, as one JSON object (progress goes to stderr).")
    var json = false

    @Option(help: ArgumentHelp(
        "How the agent learns of stalls in the MBCAS phase: push (the product) or poll (cpu.stat every second, the baseline).",
        valueName: "push|poll"))
    var agentMode: AgentMode = .push

    @Option(help: "Log level for the agent's own log lines on stderr (warning keeps the table clean).")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        guard (10...600).contains(duration) else { throw ValidationError("--duration must be between 10 and 600 seconds") }
        guard (1...10).contains(`repeat`) else { throw ValidationError("--repeat must be between 1 and 10") }
    }

    func run() async throws {
        let logger = makeStderrLogger(label: "mbcas.demo", level: logLevel)
        // SIGINT/SIGTERM become a flag the phases check, so clean-up always runs.
        let interrupted = StopSignals()
        let demo = try DemoNode(pods: DemoPods.standard, agentMode: agentMode, logger: logger)
        defer { demo.tearDown() }
        progress("created \(demo.parent.path) with \(demo.pods.map(\.name).joined(separator: ", "))")

        let phaseSeconds = duration / Double(DemoNode.Phase.allCases.count)
        let screen = LiveScreen()
        var results: [(phase: DemoNode.Phase, results: [DemoNode.PhaseResult])] = DemoNode.Phase.allCases.map { ($0, []) }
        for repetition in 1...`repeat` {
            for (index, phase) in DemoNode.Phase.allCases.enumerated() {
                if `repeat` > 1 { progress("repetition \(repetition)/\(`repeat`): \(phase.rawValue)") }
                let result = try await demo.runPhase(phase, seconds: phaseSeconds, interrupted: interrupted) { lines in
                    if !json { screen.draw(lines) }
                }
                guard interrupted.caught == nil else { throw ExitCode(130) }
                results[index].results.append(result)
            }
        }

        let summary = DemoSummary(agentMode: agentMode, pods: demo.pods, phases: results)
        if json {
            writeStdout(try summary.json() + "\n")
        } else {
            writeStdout(summary.text().joined(separator: "\n") + "\n")
        }
    }

    private func progress(_ message: String) {
        if json { FileHandle.standardError.write(Data("mbcas demo: \(message)\n".utf8)) } else { writeStdout("\(message)\n") }
    }
}
