import ArgumentParser
import Workloads

/// `mbcas workload --kind KIND [--threads N] [--seed S] [--duration SECONDS]`: runs a CPU workload
/// in this process until the duration ends or SIGTERM/SIGINT arrives.
///
/// Hidden: it is how the demo and the end-to-end tests put load in a pod's cgroup (they spawn it
/// through `WorkloadProcess`), not a command for users.
struct WorkloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workload",
        abstract: "Run a synthetic CPU workload in this process (used by the demo and tests).",
        discussion: """
            Runs one of the demo's CPU patterns on native threads until --duration elapses or \
            SIGTERM/SIGINT arrives, then prints one summary line. Start it inside a cgroup to load \
            that cgroup: everything it burns is accounted to the cgroup of this process. The \
            schedule is a function of --seed: the same seed gives the same bursts and gaps.
            """,
        shouldDisplay: false)

    @Option(help: ArgumentHelp("The pattern to run:", valueName: "kind"))
    var kind: KindArgument

    @Option(help: "Threads running the pattern (default: 2 for bursty and hog, 1 for steady and idle).")
    var threads: Int?

    @Option(help: "Seed of the schedule; the same seed gives the same bursts and gaps.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Stop after this many seconds (default: run until SIGTERM or SIGINT).",
                               valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp(
        "Stop as soon as this process is no longer the parent, so the workload never outlives whoever started it.",
        valueName: "pid"))
    var parentPid: Int32?

    /// The spec the options describe.
    var spec: WorkloadSpec {
        WorkloadSpec(kind: kind.kind, threads: threads, seed: seed, durationSeconds: duration)
    }

    func validate() throws {
        do {
            try spec.validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        let report = try WorkloadRunner.run(spec, parentPID: parentPid)
        print(report)
    }
}

/// `--kind`'s value. A wrapper rather than a conformance of `WorkloadKind` itself, which would be a
/// retroactive conformance of another module's type to another module's protocol.
struct KindArgument: ExpressibleByArgument {
    let kind: WorkloadKind

    init?(argument: String) {
        guard let kind = WorkloadKind(rawValue: argument) else { return nil }
        self.kind = kind
    }

    static var allValueStrings: [String] { WorkloadKind.allCases.map(\.rawValue) }

    /// Listed under `--kind` in `--help`, one line per kind.
    static var allValueDescriptions: [String: String] {
        Dictionary(uniqueKeysWithValues: WorkloadKind.allCases.map { ($0.rawValue, $0.summary) })
    }
}
