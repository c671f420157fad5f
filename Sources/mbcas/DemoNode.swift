import Cgroups
import Foundation
import KernelProbe
import Logging
import Market
import NodeAgent
import ProcessControl
import Workloads

/// The demo's cgroups, probe and workloads, and the two phases run on them.
final class DemoNode: @unchecked Sendable {
    // @unchecked: used from the demo's one task; the agent it starts is Sendable on its own.
    enum Phase: String, CaseIterable {
        case staticLimits = "static limits"
        /// The bar users already reach by dropping limits: the budget on the parent, no per-pod
        /// limits, weights from the floors (requests), nothing moving.
        case fairShare = "kernel fair share"
        case mbcas = "MBCAS agent"

        /// Its key in `--json`.
        var key: String {
            switch self {
            case .staticLimits: "static"
            case .fairShare: "fair_share"
            case .mbcas: "mbcas"
            }
        }
    }

    /// What one phase measured, per pod name.
    struct PhaseResult {
        /// Throttled time, from the probe: the pod's own limit and the parent's budget alike (a
        /// pod's cpu.stat counts only its own limit, which weights actuation leaves at the cap).
        var throttledNanos: [String: UInt64] = [:]
        /// Throttled time by the pod's own limit, from the kernel's cpu.stat.
        var ownLimitThrottledNanos: [String: UInt64] = [:]
        /// Run-queue wait and run time from the probe's cumulative map.
        var waitNanos: [String: UInt64] = [:]
        var runNanos: [String: UInt64] = [:]
        /// The agent's view at the end (MBCAS phase only).
        var agent: AgentStatus?
    }

    let pods: [DemoPod]
    let hierarchy: CgroupHierarchy
    let parent: CgroupDirectory
    let probe: KernelProbe
    let agentMode: AgentMode
    private let logger: Logger
    private var workloads: [WorkloadProcess] = []
    private let executable = "/proc/self/exe"

    init(pods: [DemoPod], agentMode: AgentMode, logger: Logger) throws {
        self.pods = pods
        self.agentMode = agentMode
        self.logger = logger
        hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        let root = CgroupDirectory(hierarchy: hierarchy, relativePath: "/")
        parent = root.child(DemoCommand.parentName)
        if parent.exists { try parent.remove() }  // left by an earlier demo killed outright
        _ = try root.createChild(DemoCommand.parentName)
        for pod in pods { _ = try parent.createChild(pod.name) }
        try? FileManager.default.removeItem(atPath: DemoCommand.pinRoot)
        probe = try KernelProbe.load(ProbeConfiguration(pinRoot: DemoCommand.pinRoot, filterCgroups: true), logger: logger)
        try probe.watch(cgroupIDs: try pods.map { try cgroupID(of: parent.child($0.name).path) })
        try probe.attach()
    }

    /// Stops everything and removes what the demo created.
    func tearDown() {
        stopWorkloads()
        probe.close(keepPins: false)
        try? parent.remove()
    }

    private func stopWorkloads() {
        for workload in workloads { workload.stop() }
        workloads = []
    }

    /// Runs the workloads for `seconds` under static limits or under the
    /// agent, redrawing the table every second.
    func runPhase(_ phase: Phase, seconds: Double, interrupted: StopSignals,
                  draw: ([String]) -> Void) async throws -> PhaseResult {
        try prepare(phase)
        let runtime = phase == .mbcas ? try startAgent() : nil
        let agent = runtime?.agent
        defer { runtime?.stop() }

        let statsBefore = try pods.map { try CPUStat.read(cgroupPath: parent.child($0.name).path, version: hierarchy.version) }
        let ids = try pods.map { try cgroupID(of: parent.child($0.name).path) }
        let start = try probe.maps.snapshot()
        workloads = try pods.map { pod in
            try WorkloadProcess(executable: executable, spec: pod.spec, cgroup: parent.child(pod.name))
        }
        defer { stopWorkloads() }

        var previous = start
        let began = Date()
        while Date().timeIntervalSince(began) < seconds, interrupted.caught == nil {
            try await Task.sleep(for: .milliseconds(1000))
            let now = try probe.maps.snapshot()
            draw(table(phase: phase, elapsed: Date().timeIntervalSince(began), total: seconds, previous: previous,
                       current: now, ids: ids, agent: agent?.status()).render())
            previous = now
        }
        let end = try probe.maps.snapshot()
        var result = PhaseResult(agent: agent?.status())
        for (index, pod) in pods.enumerated() {
            let stat = try CPUStat.read(cgroupPath: parent.child(pod.name).path, version: hierarchy.version)
            result.ownLimitThrottledNanos[pod.name] = stat.throttledNanos &- statsBefore[index].throttledNanos
            let d = (end.cgroups[ids[index]] ?? CgroupStallTotals(cgroupID: ids[index]))
                .since(start.cgroups[ids[index]] ?? CgroupStallTotals(cgroupID: ids[index]))
            result.throttledNanos[pod.name] = d.throttledNanos
            result.waitNanos[pod.name] = d.waitNanos
            result.runNanos[pod.name] = d.runNanos
        }
        return result
    }

    /// Every phase runs under the same budget on the parent (the static limits' total); what
    /// differs is what the pods get: static limits, no limits with weights from floors (kernel fair
    /// share), or whatever the agent sets, starting from the static limits and the default weight.
    private func prepare(_ phase: Phase) throws {
        let budget = CPULimit(millicores: pods.reduce(0) { $0 + $1.staticLimitMillicores })
        try budget.write(cgroupPath: parent.path, version: hierarchy.version)
        for pod in pods {
            let path = parent.child(pod.name).path
            switch phase {
            case .staticLimits, .mbcas:
                try pod.staticLimit.write(cgroupPath: path, version: hierarchy.version)
                try CPUShares.write(1024, cgroupPath: path, version: hierarchy.version)
            case .fairShare:
                try CPULimit.unlimited().write(cgroupPath: path, version: hierarchy.version)
                try CPUShares.write(CPUWeight(millicores: Double(pod.floorMillicores)).shares, cgroupPath: path,
                                    version: hierarchy.version)
            }
        }
    }

    private func startAgent() throws -> AgentRuntime {
        var podSettings: [String: AgentConfiguration.PodSettings] = [:]
        for pod in pods {
            podSettings[pod.name] = .init(floor: Int(pod.floorMillicores), cap: Int(pod.capMillicores), weight: pod.weight)
        }
        let staticTotal = pods.reduce(0) { $0 + Int($1.staticLimitMillicores) }
        let capacity = Int(DemoPods.nodeCapacityMillicores)
        // The agent divides the same 1600m the static limits hand out: the reserve is the rest.
        let configuration = AgentConfiguration(
            cgroupParent: parent.path, capacityMillicores: capacity, reserveMillicores: capacity - staticTotal,
            pods: podSettings,
            market: .init(debounceMs: 100, reclaimIntervalMs: 1000, cooldownMs: 3000, warmupMs: 2000))
        let runtime = try AgentRuntime(
            probe: probe, configuration: configuration,
            actuator: CgroupActuator(version: hierarchy.version, burst: BurstWriter(logger: logger)), hierarchy: hierarchy,
            mode: agentMode == .push ? .push : .poll(.seconds(1)), logger: logger)
        runtime.start()
        return runtime
    }

    private func table(phase: Phase, elapsed: Double, total: Double, previous: ProbeSnapshot, current: ProbeSnapshot,
                       ids: [UInt64], agent: AgentStatus?) -> TextTable {
        let seconds = max(1e-3, Double(current.takenAt &- previous.takenAt) / 1e9)
        var table = TextTable(header: ["POD", "WORKLOAD", "LIMIT", "THROTTLED ms/s", "WAIT ms/s", "RUN (CPUs)", "LAST DECISION"])
        for (index, pod) in pods.enumerated() {
            let d = (current.cgroups[ids[index]] ?? CgroupStallTotals(cgroupID: ids[index]))
                .since(previous.cgroups[ids[index]] ?? CgroupStallTotals(cgroupID: ids[index]))
            let status = agent?.pods.first { $0.name == pod.name }
            let limit = status?.limit ?? Int(pod.staticLimitMillicores)
            let last = status?.lastDecision.map { d in
                "\(d.reason.rawValue) \(d.oldMillicores)→\(d.newMillicores)m"
                    + (d.latencyNanos.map { " in \(formatDuration($0))" } ?? "")
            } ?? "-"
            table.rows.append([
                pod.name, pod.spec.kind.rawValue, "\(limit)m",
                String(format: "%.0f", Double(d.throttledNanos) / 1e6 / seconds),
                String(format: "%.0f", Double(d.waitNanos) / 1e6 / seconds),
                String(format: "%.2f", Double(d.runNanos) / 1e9 / seconds), last,
            ])
        }
        let header = String(format: "phase: %@  %.0f/%.0f s", phase.rawValue, elapsed, total)
        table.footer = [header + (agent.map { a in
            let price = a.shadowPrice.isFinite ? String(format: "%.3g", a.shadowPrice) : "∞"
            return "  shadow price \(price)  decisions \(a.decisions)  rounds \(a.rounds)"
        } ?? "")]
        return table
    }
}
