/// The generated demand traces. Every one is deterministic in its seed; ±10 % uniform noise per
/// step sits on top of each level.
public enum TraceKind: String, Sendable, Hashable, CaseIterable {
    /// Pod 0 steps from 0.4 to 2.0 CPUs at a fifth of the run and stays there; the others hold
    /// their steady level (see below). 100 ms steps.
    case step
    /// Pod 1 (pod 0 if alone) spikes from 0.5 to 2.5 CPUs for 15 s at 25 %, 55 % and 80 % of the
    /// run; the others hold their steady level. 100 ms steps.
    ///
    /// Steady levels: 0.3, 0.6, 0.5, 0.4 CPUs for pods 0, 1, 2, 3, cycling for more pods. With four
    /// pods the step and the spikes take the node's demand to 3.5 and 3.7 CPUs: a 4-CPU node has
    /// room, the stepping or spiking pod's 1-CPU limit does not.
    case spike
    /// Pod i follows 0.75 + 0.5·sin(2π·t / (90 + 30·i) s + 2π·i / n) CPUs: waves that sometimes add
    /// up beyond the node. 100 ms steps.
    case seasonal
    /// Every pod idles at 0.3 CPUs with sub-second bursts of 1.5–3 CPUs lasting 20–400 ms, arriving
    /// at random (on average one every 2.5 s per pod). 10 ms steps, so bursts exhaust the quota
    /// part-way through a CFS period.
    case bursty
    /// The issue-12 bench's first scenario: pod 0 is a web server (declared latency-sensitive) that
    /// alternates 2 s bursts of 2 CPUs with 2 s idle at 0.05; the others are batch jobs (declared
    /// batch) with a steady 0.8 CPUs of work each. With four pods the bursts take the node's demand
    /// to 4.4 CPUs, past a 3.9-CPU budget; between bursts there is room to drain. 100 ms steps.
    case webBatch = "web-batch"

    /// The trace's step length, nanoseconds.
    public var resolution: Int {
        self == .bursty ? 10 * SimTime.millisecond : 100 * SimTime.millisecond
    }
}
