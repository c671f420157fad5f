import Cgroups
import Foundation
import ProcessControl
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
    static func measure(_ process: WorkloadProcess, in cgroup: TemporaryCgroup, seconds: Double) throws -> CPUWindow {
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
