import ArgumentParser
import Evaluation
import Foundation
import Market

/// `mbcas simulate`: replay CPU demand traces through a CFS model (bandwidth control and weighted
/// fair sharing) under policies that move limits or weights, and compare throttling, latency,
/// efficiency, fairness, oscillation and reaction time.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Compare static, Koordinator-like, HPA-like, VPA-like, kernel fair share and MBCAS (limits or weights; 1 s polling or push) on simulated traces.",
        discussion: """
            Replays each pod's CPU demand on one node through a model of CFS bandwidth control \
            (100 ms periods, exact quota-exhaustion times, CFS burst) and weighted fair sharing (CFS weights, \
            water-filled over what each pod wants) with a FIFO queue of unmet work whose delay is \
            the latency, under each policy:

              static              the initial limits, never changed
              static-burst        the same with the kernel's CFS burst at one quota
              koordinator-like    burst; per 1 s: x1.2 if throttled, else x0.8 (1x-3x)
              hpa-like            usage / 0.7 every 15 s, on usage 15-30 s old
              vpa-like            p90 of usage over 5 min + 15 %, every 60 s
              poll-1s             MBCAS limits (NodeMarket + Guardrail), every 1 s
              push                MBCAS limits, each throttle pushed within 100 µs
              fair-share          budget (capacity - reserve) on the parent, no pod limits,
                                  weights from requests: the kernel alone
              fair-share-hand     the same, declared latency pods weighted 10x
              poll-weights-1s     MBCAS weights (WeightPlanner), caps, burst; every 1 s
              push-weights        the same on pushes, classes learned (the agent)
              push-weights-hints  the same with the declared classes as hints

            The -hand and -hints policies run only on traces that declare classes (web-batch, or \
            any trace given --class POD=latency|batch). \
            Traces are generated from --seed (step, spike, seasonal, bursty, web-batch; the same \
            seed gives the same numbers) or read with --trace from CSV: a header \
            "time_s,<pod>,<pod>,..." then one row per step, evenly spaced from 0, with each pod's \
            offered load in CPUs.

            Prints a Markdown table (or JSON with --json). With --out DIR it also writes \
            summary.json, summary.md, per-second time series and the traces as CSV; \
            scripts/plot-simulation DIR turns them into PNG plots. --sweep adds a sensitivity \
            sweep of the guardrail step, the EMA half-life and the demand deadband.

            Examples:
              $ mbcas simulate --out /tmp/sim
              $ mbcas simulate --scenario bursty --seed 7 --duration 120 --json
              $ mbcas simulate --trace my-trace.csv --capacity 8000
            """)

    @Option(name: .customLong("scenario"), help: ArgumentHelp(
        "A generated trace to run: step, spike, seasonal, bursty or web-batch (repeatable; default: all, unless --trace is given).",
        valueName: "name"))
    var scenarios: [String] = []

    @Option(name: .customLong("trace"), help: ArgumentHelp("A CSV demand trace to replay (repeatable).", valueName: "file"))
    var traces: [String] = []

    @Option(name: .customLong("policy"), help: ArgumentHelp(
        "A policy to run (repeatable; default: all): \(PolicyKind.allCases.map(\.rawValue).joined(separator: ", ")).",
        valueName: "name"))
    var policies: [String] = []

    @Option(name: .customLong("class"), help: ArgumentHelp(
        "Declare a pod's class, POD=latency or POD=batch (repeatable): fair-share-hand and push-weights-hints then run on its traces.",
        valueName: "pod=class"))
    var classes: [String] = []

    @Option(help: "Seed of the generated traces.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Simulated seconds per scenario (default 600; a CSV trace's own length).",
                               valueName: "seconds"))
    var duration: Double?

    @Option(help: "Pods in the generated traces.")
    var pods: Int = 4

    @Option(help: ArgumentHelp("The node's allocatable CPU.", valueName: "millicores"))
    var capacity: Int = 4000

    @Option(help: ArgumentHelp("CPU MBCAS keeps out of the market.", valueName: "millicores"))
    var reserve: Int = 100

    @Option(name: .customLong("initial-limit"), help: ArgumentHelp("Every pod's limit at the start (the static policy's).",
                                                                    valueName: "millicores"))
    var initialLimit: Int = 1000

    @Option(help: "Runnable threads per pod: the most CPUs a pod with queued work can use at once.")
    var threads: Double = 4

    @Option(name: .customLong("slo-ms"), help: "Latency SLO: a pod-second whose work waited longer in the pod's queue is a violation.")
    var sloMilliseconds: Double = 100

    @Option(name: .customLong("push-latency-us"), help: "Push policy: kernel event to agent, microseconds.")
    var pushLatencyMicroseconds: Double = 100

    @Flag(name: .customLong("ablate-wait"),
          help: "MBCAS limits policies leave run-queue wait out of their demand samples (an ablation; the agent includes it).")
    var ablateWait = false

    @Option(name: .customLong("weight-deadband"),
            help: "MBCAS weights policies: rewrite a weight only when it moves by at least this fraction (the agent's 0.1).")
    var weightDeadband: Double?

    @Option(name: .customLong("learned-boost"),
            help: "MBCAS weights policies: how much more a pod learned latency-sensitive bids (the agent's 4).")
    var learnedBoost: Double?

    @Option(help: ArgumentHelp("Write summary, time series and traces into this directory.", valueName: "dir"))
    var out: String?

    @Flag(help: "Print the results as JSON instead of a Markdown table.")
    var json = false

    @Flag(help: "Also run the sensitivity sweep (guardrail step, EMA half-life, deadband) with both MBCAS policies.")
    var sweep = false

    func validate() throws {
        guard pods >= 1 else { throw ValidationError("--pods must be at least 1") }
        guard threads > 0, threads.isFinite else { throw ValidationError("--threads must be positive") }
        if let duration { guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration must be in (0, 86400] seconds") } }
        guard sloMilliseconds >= 0 else { throw ValidationError("--slo-ms must not be negative") }
        guard pushLatencyMicroseconds >= 0 else { throw ValidationError("--push-latency-us must not be negative") }
        if let weightDeadband { guard weightDeadband >= 0, weightDeadband < 1 else { throw ValidationError("--weight-deadband must be in [0, 1)") } }
        if let learnedBoost { guard learnedBoost >= 1, learnedBoost.isFinite else { throw ValidationError("--learned-boost must be at least 1") } }
        for name in scenarios where TraceKind(rawValue: name) == nil {
            throw ValidationError("unknown scenario \"\(name)\"; choose from \(TraceKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try declaredClasses()
        for name in policies where PolicyKind(rawValue: name) == nil {
            throw ValidationError("unknown policy \"\(name)\"; choose from \(PolicyKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// `--class` as pod name → class.
    func declaredClasses() throws -> [String: LatencyClass] {
        var out: [String: LatencyClass] = [:]
        for entry in classes {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let declared = LatencyClass(rawValue: parts[1]) else {
                throw ValidationError("--class \"\(entry)\": expected POD=latency or POD=batch")
            }
            out[parts[0]] = declared
        }
        return out
    }

    func run() throws {
        let durationNanos = duration.map { Int(($0 * 1e9).rounded()) }
        var list: [Scenario] = []
        let kinds = scenarios.isEmpty && traces.isEmpty ? TraceKind.allCases : scenarios.compactMap(TraceKind.init(rawValue:))
        for kind in kinds {
            list.append(try Scenario.generated(kind, pods: pods, duration: durationNanos ?? 600_000_000_000, seed: seed,
                                               capacity: capacity, reserve: reserve, initialLimit: initialLimit, threads: threads))
        }
        for path in traces {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read \(path)")
            }
            let trace = try TraceCSV.parse(text)
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            list.append(try Scenario.replaying(trace, name: name, duration: durationNanos, capacity: capacity,
                                               reserve: reserve, initialLimit: initialLimit, threads: threads))
        }
        let declared = try declaredClasses()
        for name in declared.keys where !list.contains(where: { $0.pods.contains { $0.name == name } }) {
            throw ValidationError("--class names pod \"\(name)\", which no trace has (pods: \(Set(list.flatMap { $0.pods.map(\.name) }).sorted().joined(separator: ", ")))")
        }
        list = list.map { $0.declaring(declared) }
        let kindsToRun = policies.isEmpty ? PolicyKind.allCases : policies.compactMap(PolicyKind.init(rawValue:))
        var settings = PolicySettings()
        settings.mbcas.pushLatency = Int((pushLatencyMicroseconds * 1000).rounded())
        settings.mbcas.demandIncludesWait = !ablateWait
        if let weightDeadband { settings.mbcas.weightPlanner.deadband = weightDeadband }
        if let learnedBoost { settings.mbcas.weightPlanner.boost.learned = learnedBoost }
        let options = SimulationOptions(slo: Int((sloMilliseconds * 1e6).rounded()), recordsSeries: out != nil)

        let results = try Evaluation.run(scenarios: list, policies: kindsToRun, settings: settings, options: options)
        let points = sweep ? try Sweep.run(scenarios: list, base: settings.mbcas, options: options) : []

        if json {
            print(Report.json(results, sweep: points), terminator: "")
        } else {
            print(Report.markdown(results), terminator: "")
            if !points.isEmpty { print("\n" + Report.markdown(sweep: points), terminator: "") }
        }
        if let out {
            let written = try ResultFiles.write(EvaluationResult(scenarios: results, sweep: points), to: out)
            FileHandle.standardError.write(Data("wrote \(written.count) files to \(out)\n".utf8))
        }
    }
}
