import Cgroups
import Foundation
import KernelProbe
import Logging
import TestSupport
import Testing

/// The kernel is the oracle: the probes' numbers are checked against the
/// kernel's own accounting (cpu.stat, /proc/<pid>/schedstat) on real
/// cgroups with real CPU burners. One at a time: they load the CPU.
@Suite("BPF probes vs the kernel's own accounting", .serialized, .enabled(if: Privileged.canRun))
struct KernelAccuracyTests {
    static let tolerance = 0.10
    let logger = Logger(label: "test.probe")

    func configuration(_ mode: AttachMode, ringBufferBytes: UInt32 = 256 * 1024, waitThreshold: UInt64 = 5_000_000,
                       waitWindow: UInt64 = 100_000_000) -> ProbeConfiguration {
        ProbeConfiguration(attachMode: mode, pinRoot: "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))",
                           ringBufferBytes: ringBufferBytes, waitThresholdNanos: waitThreshold,
                           waitWindowNanos: waitWindow)
    }

    func expectClose(_ measured: Double, _ oracle: Double, _ what: Comment) {
        #expect(oracle > 0, "the kernel saw no \(what): the workload did not run")
        let error = abs(measured - oracle) / oracle
        // Beside each other in the log (make test-vm collects these lines): the kernel's own figure and the probe's.
        print("[figure] \(uname()) \(what): probe \(Int(measured)), kernel \(Int(oracle)), \(String(format: "%.1f", error * 100)) % apart")
        #expect(error <= Self.tolerance, "\(what): BPF \(measured) vs kernel \(oracle) (\(Int(error * 100))% apart)")
    }

    /// The kernel release and the cgroup version the cpu controller is on, e.g. "6.1.0-28-amd64 cgroup v2".
    func uname() -> String {
        var u = utsname()
        Glibc.uname(&u)
        let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let version = (try? CgroupHierarchy.discover(controller: "cpu").version)?.rawValue ?? "?"
        return "\(release) cgroup-\(version)"
    }

    /// Runs a burner in a cgroup limited to 20 % of one CPU for `seconds`,
    /// returning the kernel's and the probe's view of the whole run.
    func throttledRun(probe: KernelProbe, seconds: Double, beforeStop: () -> Void = {}) throws
        -> (kernel: CPUStat, kernelBefore: CPUStat, bpf: CgroupStallTotals, bpfBefore: CgroupStallTotals, id: UInt64)
    {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.remove() }
        try cgroup.limit(cpus: 0.2)
        let id = try cgroup.id()
        // Both readings before the burner starts and after it is gone: no
        // episode is open at either moment, on either side.
        let kernelBefore = try cgroup.cpuStat()
        let bpfBefore = try probe.maps.snapshot().cgroups[id] ?? CgroupStallTotals(cgroupID: id)
        let burner = try Burner(cgroupPath: cgroup.path)
        Thread.sleep(forTimeInterval: seconds)
        beforeStop()
        burner.stop()
        Thread.sleep(forTimeInterval: 0.2)
        let kernel = try cgroup.cpuStat()
        let bpf = try probe.maps.snapshot().cgroups[id] ?? CgroupStallTotals(cgroupID: id)
        return (kernel, kernelBefore, bpf, bpfBefore, id)
    }

    /// Both program sets run the same logic through different reads: check both.
    static let modes: [AttachMode] = [.btf, .rawTracepoint]

    func load(_ configuration: ProbeConfiguration) throws -> KernelProbe {
        let probe = try KernelProbe.load(configuration, logger: logger)
        #expect(probe.attachMode == configuration.attachMode)
        return probe
    }

    @Test("throttled time and episodes match cpu.stat, and every episode is pushed", arguments: modes)
    func throttlingMatchesCPUStat(mode: AttachMode) throws {
        let probe = try load(configuration(mode))
        defer { probe.close(keepPins: false) }
        try probe.attach()
        let events = EventCollector()
        let consumer = try probe.makeConsumer { events.append($0) }
        try consumer.start()

        let run = try throttledRun(probe: probe, seconds: 3)
        consumer.stop()

        let kernelThrottled = Double(run.kernel.throttledNanos - run.kernelBefore.throttledNanos)
        let kernelEpisodes = Double(run.kernel.nrThrottled - run.kernelBefore.nrThrottled)
        let delta = run.bpf.since(run.bpfBefore)
        expectClose(Double(delta.throttledNanos), kernelThrottled, "\(mode): throttled time (ns)")
        expectClose(Double(delta.throttleEpisodes), kernelEpisodes, "\(mode): throttle episodes")

        // Push, checked against the kernel too: one start event per throttled period, and the
        // end events' durations add up to cpu.stat's throttled time.
        let starts = events.all.filter { $0.kind == .throttleStart && $0.cgroupID == run.id }
        let ends = events.all.filter { $0.kind == .throttleEnd && $0.cgroupID == run.id }
        expectClose(Double(starts.count), kernelEpisodes, "\(mode): pushed throttle starts")
        expectClose(Double(ends.map(\.deltaNanos).reduce(0, +)), kernelThrottled, "\(mode): pushed episode durations (ns)")
        #expect(ends.count == starts.count, "every pushed start has its end")
        #expect(starts.allSatisfy { $0.latencyNanos > 0 }, "received before it was sent")
        #expect(try probe.maps.snapshot().counters.ringBufferDrops == 0)
    }

    @Test("run-queue wait and run time match the tasks' /proc/<pid>/schedstat", arguments: modes)
    func runQueueWaitMatchesSchedstat(mode: AttachMode) throws {
        let probe = try load(configuration(mode))
        defer { probe.close(keepPins: false) }
        try probe.attach()
        let a = try TemporaryCgroup(), b = try TemporaryCgroup()
        defer { a.remove(); b.remove() }
        let ids = (try a.id(), try b.id())

        // Two burners on one CPU: each waits while the other runs.
        let burnerA = try Burner(cgroupPath: a.path, cpu: 0)
        let burnerB = try Burner(cgroupPath: b.path, cpu: 0)
        defer { burnerA.stop(); burnerB.stop() }
        Thread.sleep(forTimeInterval: 0.3)  // both have left the shell and spin
        let before = try probe.maps.snapshot()
        let schedA0 = try Schedstat.read(pid: burnerA.pid), schedB0 = try Schedstat.read(pid: burnerB.pid)
        Thread.sleep(forTimeInterval: 3)
        let after = try probe.maps.snapshot()
        let schedA1 = try Schedstat.read(pid: burnerA.pid), schedB1 = try Schedstat.read(pid: burnerB.pid)

        for (id, s0, s1, name) in [(ids.0, schedA0, schedA1, "A"), (ids.1, schedB0, schedB1, "B")] {
            let bpf = try #require(after.cgroups[id]).since(try #require(before.cgroups[id]))
            expectClose(Double(bpf.waitNanos), Double(s1.waitNanos - s0.waitNanos), "\(mode): run-queue wait of cgroup \(name) (ns)")
            expectClose(Double(bpf.runNanos), Double(s1.runNanos - s0.runNanos), "\(mode): run time of cgroup \(name) (ns)")
        }
    }

    @Test("a forced ring-buffer overflow is counted as drops, and the totals still match cpu.stat")
    func overflowLosesNothing() throws {
        // A one-page ring buffer and a wait event for every wait anywhere on
        // the machine, with nobody reading: it must overflow.
        let probe = try load(configuration(.btf, ringBufferBytes: 4096, waitThreshold: 1, waitWindow: 1))
        defer { probe.close(keepPins: false) }
        try probe.attach()
        let events = EventCollector()
        let consumer = try probe.makeConsumer { events.append($0) }  // not started until the end

        let run = try throttledRun(probe: probe, seconds: 3)
        consumer.drain()

        let counters = try probe.maps.snapshot().counters
        #expect(counters.ringBufferDrops > 0, "the one-page ring buffer never overflowed")
        #expect(events.all.count < Int(counters.eventsPushed + counters.ringBufferDrops))
        let delta = run.bpf.since(run.bpfBefore)
        expectClose(Double(delta.throttledNanos), Double(run.kernel.throttledNanos - run.kernelBefore.throttledNanos),
                    "btf, overflowing: throttled time despite drops (ns)")
        expectClose(Double(delta.throttleEpisodes), Double(run.kernel.nrThrottled - run.kernelBefore.nrThrottled),
                    "btf, overflowing: throttle episodes despite drops")
    }
}
