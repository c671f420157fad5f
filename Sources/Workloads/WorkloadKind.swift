/// The CPU patterns the demo and the end-to-end tests run in their pods.
///
/// Each kind stands for a class of real container whose CPU a static limit serves differently: the
/// point of the demo is that one fixed limit cannot fit all four, while moving CPU between them can.
public enum WorkloadKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Irregular bursts of full CPU on every thread, separated by idle gaps (a request-driven service
    /// with spiky traffic). Its average is modest but each burst needs far more than a small limit:
    /// the pod a static limit hurts most.
    case bursty
    /// A constant duty cycle: 40 % of one CPU per thread, as 4 ms busy / 6 ms asleep in 10 ms slices
    /// (a service under steady load).
    case steady
    /// Every thread spins all the time (a batch job that takes whatever it is given).
    case hog
    /// Mostly asleep: 1 ms of work every 100 ms per thread, about 1 % of a CPU (a sidecar).
    case idle

    /// One line for the demo's table and `--help`.
    public var summary: String {
        switch self {
        case .bursty: "full-CPU bursts on all threads (150-600 ms), idle gaps (200-900 ms)"
        case .steady: "40 % of a CPU per thread: 4 ms busy, 6 ms asleep, every 10 ms"
        case .hog: "every thread spins all the time: a batch job taking all it is given"
        case .idle: "mostly asleep, 1 ms of work every 100 ms per thread: a sidecar"
        }
    }

    /// The thread count used when none is given: two for the kinds whose point is wanting more than
    /// one CPU, one for the others.
    public var defaultThreads: Int {
        switch self {
        case .bursty, .hog: 2
        case .steady, .idle: 1
        }
    }

    /// The raw value, as typed on the command line.
    public var description: String { rawValue }
}
