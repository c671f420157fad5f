import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KernelProbe

/// Prints pushed events and final totals, as text or JSON lines.
struct EventPrinter: Sendable {
    let json: Bool
    let names: CgroupNames

    /// One pushed event as JSON (`mbcas probe --json`).
    struct EventLine: Encodable {
        var kind: String
        var cgroup: String?
        var cgroup_id: UInt64
        var pod_uid: String?
        var cpu: UInt32
        var pid: UInt32
        var delta_ns: UInt64
        var stall_start_ns: UInt64
        var ktime_ns: UInt64
        var latency_ns: UInt64
    }

    /// One cgroup's totals as JSON.
    struct TotalsLine: Encodable {
        var cgroup: String?
        var cgroup_id: UInt64
        var pod_uid: String?
        var throttled_ns: UInt64
        var nr_throttled: UInt64
        var wait_ns: UInt64
        var run_ns: UInt64
        var switches: UInt64
    }

    /// The closing line: what the probe pushed and what it had to drop.
    struct CountersLine: Encodable {
        var dropped: UInt64
        var events_pushed: UInt64
        var map_full: UInt64
    }

    func print(_ event: StallEvent) {
        let name = names.path(of: event.cgroupID)
        if json {
            emit(EventLine(kind: event.kind.description, cgroup: name, cgroup_id: event.cgroupID,
                           pod_uid: names.podUID(of: event.cgroupID), cpu: event.cpu, pid: event.pid,
                           delta_ns: event.deltaNanos, stall_start_ns: event.stallStart,
                           ktime_ns: event.kernelTimestamp, latency_ns: event.latencyNanos))
            return
        }
        var line = "\(event.kind.description.padding(toLength: 15, withPad: " ", startingAt: 0))"
        line += " cgroup=\(name ?? "#\(event.cgroupID)") cpu=\(event.cpu) pid=\(event.pid)"
        if event.kind != .throttleStart { line += " delta=\(formatDuration(event.deltaNanos))" }
        line += " latency=\(formatDuration(event.latencyNanos))"
        write(line)
    }

    func printTotals(_ snapshot: ProbeSnapshot, including: (UInt64) -> Bool) {
        let rows = snapshot.cgroups.values
            .filter { including($0.cgroupID) }
            .sorted { ($0.throttledIncludingOpenNanos, $0.waitNanos) > ($1.throttledIncludingOpenNanos, $1.waitNanos) }
        if json {
            for t in rows {
                emit(TotalsLine(cgroup: names.path(of: t.cgroupID), cgroup_id: t.cgroupID,
                                pod_uid: names.podUID(of: t.cgroupID),
                                throttled_ns: t.throttledIncludingOpenNanos, nr_throttled: t.throttleEpisodes,
                                wait_ns: t.waitNanos, run_ns: t.runNanos, switches: t.switches))
            }
            emit(CountersLine(dropped: snapshot.counters.ringBufferDrops, events_pushed: snapshot.counters.eventsPushed,
                              map_full: snapshot.counters.mapFull))
            return
        }
        write("")
        write(pad("CGROUP", 48) + pad("THROTTLED", 12) + pad("EPISODES", 10) + pad("WAIT", 12) + pad("RUN", 12) + "SWITCHES")
        for t in rows {
            write(pad(names.path(of: t.cgroupID) ?? "#\(t.cgroupID)", 48)
                  + pad(formatDuration(t.throttledIncludingOpenNanos), 12) + pad("\(t.throttleEpisodes)", 10)
                  + pad(formatDuration(t.waitNanos), 12) + pad(formatDuration(t.runNanos), 12) + "\(t.switches)")
        }
        write("events pushed: \(snapshot.counters.eventsPushed), dropped by the ring buffer: \(snapshot.counters.ringBufferDrops) (totals above include them)")
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s.padding(toLength: width, withPad: " ", startingAt: 0)
    }

    private func emit(_ value: some Encodable) {
        guard let line = try? CLIJSON.line(value) else { return }
        write(line)
    }

    private func write(_ line: String) {
        writeStdout(line + "\n")  // one write per line: lines from the consumer thread never interleave
    }
}

/// 1234567 -> "1.23ms"; human units for durations in nanoseconds.
func formatDuration(_ ns: UInt64) -> String {
    let v = Double(ns)
    switch ns {
    case ..<1_000: return "\(ns)ns"
    case ..<1_000_000: return String(format: "%.1fus", v / 1e3)
    case ..<1_000_000_000: return String(format: "%.2fms", v / 1e6)
    default: return String(format: "%.3fs", v / 1e9)
    }
}
