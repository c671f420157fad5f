import ArgumentParser
import Cgroups
import Foundation
import KernelProbe
import Logging
import Market
import NodeAgent
import Workloads

/// `mbcas demo`: the same four workloads under static limits, then under
/// the agent, side by side, on this machine's real cgroups.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show MBCAS at work: four pods under static CPU limits, then under the agent (root).",
        discussion: """
            Creates a parent cgroup (mbcas-demo) with four children, each running a built-in \
            workload: bursty (two threads bursting 150-600 ms at a time), steady (40 % of a CPU), hog \
            (two threads spinning) and idle (a sidecar). First they run for half of --duration under \
            fixed CPU limits (bursty 300m, steady 500m, hog 700m, idle 100m); then the same \
            workloads, with the same random seeds, run under `mbcas agent`, which may move CPU between \
            them (same 1600m total). A table updates in place every second; a summary compares \
            throttled time and run-queue wait per pod, counts the agent's decisions and gives the \
            kernel-push → cgroup-write latency. Everything it created is removed at the end, also on \
            Ctrl-C. While it runs: `mbcas top --pin-root \(Self.pinRoot)`.
            """
    )

    static let pinRoot = "/sys/fs/bpf/mbcas-demo"
    static let parentName = "mbcas-demo"

    @Option(help: "Total seconds, split evenly between the static and the MBCAS phase (10-600).")
    var duration: Double = 40

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
    }

    func run() async throws {
        let logger = makeStderrLogger(label: "mbcas.demo", level: logLevel)
        // SIGINT/SIGTERM become a flag the phases check, so clean-up always runs.
        let interrupted = SignalWaiter(signals: [SIGINT, SIGTERM])
        let demo = try DemoNode(pods: DemoPods.standard, agentMode: agentMode, logger: logger)
        defer { demo.tearDown() }
        progress("created \(demo.parent.path) with \(demo.pods.map(\.name).joined(separator: ", "))")

        let half = duration / 2
        let screen = LiveScreen()
        let staticPhase = try await demo.runPhase(.staticLimits, seconds: half, interrupted: interrupted) { lines in
            if !json { screen.draw(lines) }
        }
        guard !interrupted.isSet else { throw ExitCode(130) }
        let mbcasPhase = try await demo.runPhase(.mbcas, seconds: half, interrupted: interrupted) { lines in
            if !json { screen.draw(lines) }
        }
        guard !interrupted.isSet else { throw ExitCode(130) }

        let summary = DemoSummary(agentMode: agentMode, pods: demo.pods, staticPhase: staticPhase, mbcasPhase: mbcasPhase)
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
