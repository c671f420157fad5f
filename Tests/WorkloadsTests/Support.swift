import Cgroups
import Foundation
import TestSupport
import Testing
@testable import Workloads

/// Every test that burns CPU or starts processes lives in this suite, one at a time: the machine
/// has two cores and is shared, and measurements should not be disturbed by our own other tests.
@Suite(.serialized) enum LiveWorkloads {}

/// The `mbcas` binary built with the tests (the test target depends on it).
func mbcasExecutable() throws -> String { try requireBuiltProduct("mbcas") }

/// Runs `mbcas` with `arguments` to completion (killed after `timeout` seconds).
func runMBCAS(_ arguments: [String], timeout: Double = 10) throws -> CommandResult {
    try runCommand(try mbcasExecutable(), arguments, timeout: timeout)
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// A uniquely named test cgroup, `mbcas-wl-test-<random>`, under the hierarchy holding the `cpu`
/// controller; on a v1 node whose `cpuacct` is mounted apart, a twin at the same path there, since
/// that is where the CPU time is accounted.
struct TestCgroup {
    let hierarchy: CgroupHierarchy
    let directory: CgroupDirectory
    /// The `cpuacct` twin on a split v1 node; nil when `directory` accounts itself.
    let accounting: CgroupDirectory?

    init() throws {
        hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        let name = "mbcas-wl-test-\(UInt32.random(in: 0...UInt32.max))"
        directory = try CgroupDirectory(hierarchy: hierarchy, relativePath: "/").createChild(name)
        if hierarchy.version == .v1, let cpuacct = try? CgroupHierarchy.discover(controller: "cpuacct"),
            cpuacct.mountPoint != hierarchy.mountPoint {
            accounting = try CgroupDirectory(hierarchy: cpuacct, relativePath: "/").createChild(name)
        } else {
            accounting = nil
        }
    }

    /// The cgroups a workload must join besides ``directory``.
    var otherCgroups: [CgroupDirectory] { accounting.map { [$0] } ?? [] }

    /// CPU time used by the cgroup's tasks so far, in ns.
    func usageNanos() throws -> UInt64 {
        switch hierarchy.version {
        case .v2:
            let stat = try CPUStat.read(cgroupPath: directory.path, version: .v2)
            return try #require(stat.usageNanos, "cpu.stat of \(directory.path) has no usage_usec")
        case .v1:
            return try CPUUsage.readCPUAcctUsage(cgroupPath: (accounting ?? directory).path)
        }
    }

    /// Moves any process out and removes the cgroups; throws when they stay busy.
    func remove() throws {
        try directory.remove()
        try accounting?.remove()
    }
}

/// CPU a process used, and waited for, over a wall-clock window.
struct CPUWindow {
    /// Cgroup CPU usage over the window, in CPUs.
    var usedCPUs: Double
    /// Run-queue wait of the process's threads over the window, in CPUs.
    var waitedCPUs: Double

    /// What the workload asked for: what it got plus what it queued for. On this shared two-core
    /// machine another engineer's tests compete for the CPUs, so usage alone can fall short of a
    /// pattern's demand through no fault of the workload; run-queue wait is that shortfall.
    var demandCPUs: Double { usedCPUs + waitedCPUs }

    /// Measures `process` in `cgroup` for `seconds`, starting once its workers exist.
    static func measure(_ process: WorkloadProcess, in cgroup: TestCgroup, seconds: Double) throws -> CPUWindow {
        try process.waitUntilWorkersStarted()
        let usage0 = try cgroup.usageNanos()
        let sched0 = try Schedstat.readProcess(pid: process.pid)
        let start = ContinuousClock.now
        Thread.sleep(forTimeInterval: seconds)
        let usage1 = try cgroup.usageNanos()
        let sched1 = try Schedstat.readProcess(pid: process.pid)
        let wall = (ContinuousClock.now - start).seconds
        return CPUWindow(
            usedCPUs: Double(usage1 - usage0) / 1e9 / wall,
            waitedCPUs: Double(sched1.waitNanos &- sched0.waitNanos) / 1e9 / wall)
    }
}
