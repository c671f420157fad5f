import ArgumentParser
import Cgroups
import Foundation
import KernelProbe

/// `mbcas top`: a running agent's pods, live, from its pinned maps.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show a running agent's pods live: stalls, limits, shares and the shadow price of CPU.",
        discussion: """
            Reads the maps a running `mbcas agent` pinned in bpffs (the kernel's per-cgroup counters \
            and the agent's decisions) once per interval, and shows per pod:
              STALL      (throttled + run-queue wait) / wall time, over the interval
              THR ms/s   throttled milliseconds per second
              WAIT ms/s  run-queue wait milliseconds per second
              RUN        CPUs used
              CLASS      latency or batch, learned from the scheduler (* = declared), with the
                         learner's score (0 to 1: how server-like its windows were)
              WEIGHT     the CFS weight the agent set (cpu.shares units)
              LIMIT      the CPU limit (its cap), millicores; BURST the CFS burst that goes with it
              SHARE      under weights: its share of the budget under full contention; under
                         limits: its part of the node's allocated CPU
              DIR/min    moves that reversed the previous one, in the last minute (oscillation)
              LAST       why it last changed, and the push→write latency of that change
            Needs root (reading pinned maps needs CAP_BPF).
            """
    )

    @Option(help: "Where the agent pinned its maps.")
    var pinRoot = ProbeConfiguration.defaultPinRoot

    @Option(help: "Seconds between refreshes.")
    var interval: Double = 1

    @Option(help: "Stop after this many refreshes (default: until Ctrl-C).")
    var count: Int?

    func validate() throws {
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1 seconds") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let (stats, agentState) = try openMaps()
        let hierarchy = try? CgroupHierarchy.discover(controller: "cpu")
        let screen = LiveScreen()
        var previous = try stats.snapshot()
        var drawn = 0
        while count.map({ drawn < $0 }) ?? true {
            Thread.sleep(forTimeInterval: interval)
            let current = try stats.snapshot()
            let allocations = try agentState.allocations()
            let market = try agentState.market()
            screen.draw(Self.table(previous: previous, current: current, allocations: allocations, market: market,
                                   hierarchy: hierarchy).render())
            previous = current
            drawn += 1
        }
    }

    private func openMaps() throws -> (CumulativeMaps, AgentStateMaps) {
        let result: Result<(CumulativeMaps, AgentStateMaps), ProbeError> = Result { () throws(ProbeError) in
            (try CumulativeMaps.openPinned(at: pinRoot), try AgentStateMaps.openPinned(at: pinRoot))
        }
        switch result {
        case .success(let maps): return maps
        case .failure(let error) where error.code == .notRunning:
            throw ValidationError("no agent is running: no MBCAS maps under \(pinRoot). Start one with `sudo mbcas agent --cgroup-parent PATH` (or `mbcas demo`).")
        case .failure(let error): throw error
        }
    }

    static func table(previous: ProbeSnapshot, current: ProbeSnapshot, allocations: [UInt64: PodAllocationRecord],
                      market: NodeMarketRecord?, hierarchy: CgroupHierarchy?) -> TextTable {
        let seconds = Double(current.takenAt &- previous.takenAt) / 1e9
        // Each pod's cgroup and everything below it (containers) count for the pod.
        let index = hierarchy.flatMap { try? CgroupIndex(hierarchy: $0) }
        let podPaths: [(UInt64, String)] = allocations.keys.compactMap { id in index?.path(forID: id).map { (id, $0) } }
        func pod(of cgroupID: UInt64) -> UInt64? {
            if allocations[cgroupID] != nil { return cgroupID }
            guard let path = index?.path(forID: cgroupID) else { return nil }
            return podPaths.first { path.hasPrefix($0.1 + "/") }?.0
        }
        var delta: [UInt64: CgroupStallTotals] = [:]
        for (id, now) in current.cgroups {
            guard let podID = pod(of: id) else { continue }
            let d = now.since(previous.cgroups[id] ?? CgroupStallTotals(cgroupID: id))
            delta[podID, default: CgroupStallTotals(cgroupID: podID)].throttledNanos += d.throttledNanos
            delta[podID, default: CgroupStallTotals(cgroupID: podID)].waitNanos += d.waitNanos
            delta[podID, default: CgroupStallTotals(cgroupID: podID)].runNanos += d.runNanos
        }
        let allocated = max(1, allocations.values.reduce(0) { $0 + $1.limitMillicores })
        var table = TextTable(header: ["POD", "CLASS", "STALL", "THR ms/s", "WAIT ms/s", "RUN", "WEIGHT", "LIMIT", "BURST",
                                       "SHARE", "DIR/min", "LAST"])
        let budget = market.map { Double(max(1, $0.capacityMillicores - $0.reserveMillicores)) } ?? 1
        for (id, record) in allocations.sorted(by: { $0.value.name < $1.value.name }) {
            let d = delta[id] ?? CgroupStallTotals(cgroupID: id)
            let perSecond = { (ns: UInt64) in Double(ns) / 1e6 / seconds }
            let last = record.reason.isEmpty ? "-" : record.reason
                + (record.lastLatencyNanos > 0 ? " (\(formatDuration(record.lastLatencyNanos)))" : "")
            let weighted = record.weightShares > 0
            table.rows.append([
                record.name,
                record.latencyClass.isEmpty ? "-" : "\(record.latencyClass)(" + String(format: "%.2f", record.latencyScore) + ")",
                String(format: "%.0f%%", Double(d.throttledNanos + d.waitNanos) / 1e9 / seconds * 100),
                String(format: "%.1f", perSecond(d.throttledNanos)),
                String(format: "%.1f", perSecond(d.waitNanos)),
                String(format: "%.2f", Double(d.runNanos) / 1e9 / seconds),
                weighted ? "\(record.weightShares)" : "-",
                "\(record.limitMillicores)m",
                record.burstMicros > 0 ? String(format: "%.0fms", Double(record.burstMicros) / 1000) : "-",
                weighted ? String(format: "%.0f%%", Double(record.shareMillicores) / budget * 100)
                    : String(format: "%.0f%%", Double(record.limitMillicores) / Double(allocated) * 100),
                "\(record.directionChanges)",
                last,
            ])
        }
        if let market {
            let alive = kill(pid_t(market.agentPID), 0) == 0
            let price = market.shadowPrice.isFinite ? String(format: "%.3g", market.shadowPrice) : "∞ (OVER-COMMITTED: the pods' guarantees exceed the budget)"
            table.footer.append("node: \(market.allocatedMillicores)m of \(market.capacityMillicores - market.reserveMillicores)m allocated "
                + "(capacity \(market.capacityMillicores)m, reserve \(market.reserveMillicores)m); shadow price \(price); "
                + "\(market.rounds) rounds, \(market.decisions) decisions")
            if !alive { table.footer.append("agent pid \(market.agentPID) is not running: the last state it left") }
        } else {
            table.footer.append("the agent has not run a market round yet")
        }
        return table
    }
}
