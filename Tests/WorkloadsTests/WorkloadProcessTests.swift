import Cgroups
import Foundation
import TestSupport
import Testing
@testable import Workloads

extension LiveWorkloads {
    /// Real `mbcas workload` children in real cgroups (root only).
    @Suite(.enabled(if: Privileged.canRun)) struct WorkloadProcessTests {
        @Test func aHogThreadUsesAboutOneCPU() throws {
            try Privileged.require()
            let cgroup = try TemporaryCgroup(prefix: "mbcas-wl-test", accountingTwin: true)
            defer { cgroup.remove() }
            let process = try WorkloadProcess(
                executable: mbcasExecutable(), spec: WorkloadSpec(kind: .hog, threads: 1),
                cgroup: cgroup.directory, otherCgroups: cgroup.otherCgroups)
            #expect(try cgroup.directory.pids() == [process.pid])

            let window = try CPUWindow.measure(process, in: cgroup, seconds: 1.5)
            process.stop()
            // One always-runnable thread: what it gets plus what it queues for is one CPU.
            #expect(abs(window.demandCPUs - 1) <= 0.3, "\(window)")
            // And it does get CPU, however busy the machine.
            #expect(window.usedCPUs > 0.25, "\(window)")
        }

        @Test func steadyUsesAboutFortyPercentOfOneCPU() throws {
            try Privileged.require()
            let cgroup = try TemporaryCgroup(prefix: "mbcas-wl-test", accountingTwin: true)
            defer { cgroup.remove() }
            let process = try WorkloadProcess(
                executable: mbcasExecutable(), spec: WorkloadSpec(kind: .steady),
                cgroup: cgroup.directory, otherCgroups: cgroup.otherCgroups)

            let window = try CPUWindow.measure(process, in: cgroup, seconds: 2)
            process.stop()
            #expect((0.25...0.55).contains(window.demandCPUs), "\(window)")
            #expect(window.usedCPUs <= 0.55, "\(window)")
        }

        @Test func stopTerminatesGracefullyAndLeavesTheCgroupRemovable() throws {
            try Privileged.require()
            let cgroup = try TemporaryCgroup(prefix: "mbcas-wl-test", accountingTwin: true)
            defer { cgroup.remove() }
            let process = try WorkloadProcess(
                executable: mbcasExecutable(), spec: WorkloadSpec(kind: .bursty, threads: 1),
                cgroup: cgroup.directory)
            try process.waitUntilWorkersStarted()
            #expect(process.isRunning)

            let start = ContinuousClock.now
            let exit = process.stop()
            #expect((ContinuousClock.now - start) < .seconds(1))
            // Exit status 0, not SIGKILL: the runner saw SIGTERM and ended on its own.
            #expect(exit == .exited(0))
            #expect(process.exitStatus == .exited(0))
            #expect(!process.isRunning)
            #expect(process.stop() == .exited(0))  // idempotent
            #expect(try cgroup.directory.pids().isEmpty)

            try cgroup.removeChecked()
            #expect(!cgroup.directory.exists)
        }

        @Test func droppingTheHandleStopsTheChild() throws {
            try Privileged.require()
            let cgroup = try TemporaryCgroup(prefix: "mbcas-wl-test", accountingTwin: true)
            defer { cgroup.remove() }
            var process: WorkloadProcess? = try WorkloadProcess(
                executable: mbcasExecutable(), spec: WorkloadSpec(kind: .idle), cgroup: cgroup.directory)
            let pid = try #require(process?.pid)
            #expect(try cgroup.directory.pids() == [pid])
            process = nil
            #expect(try cgroup.directory.pids().isEmpty)
        }

        @Test func aWorkloadWithADurationEndsByItself() throws {
            try Privileged.require()
            let cgroup = try TemporaryCgroup(prefix: "mbcas-wl-test", accountingTwin: true)
            defer { cgroup.remove() }
            let process = try WorkloadProcess(
                executable: mbcasExecutable(), spec: WorkloadSpec(kind: .idle, durationSeconds: 0.2),
                cgroup: cgroup.directory)
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
            #expect(process.exitStatus == .exited(0))
        }
    }

    /// Failures that need no privilege: they fail before, or instead of, joining a cgroup.
    @Suite struct WorkloadProcessFailureTests {
        @Test func aMissingCgroupFailsNamingItsProcsFile() throws {
            let missing = CgroupDirectory(path: "/sys/fs/cgroup/cpu/mbcas-wl-test-missing-\(UInt32.random(in: 0...UInt32.max))")
            let error = #expect(throws: WorkloadError.self) {
                _ = try WorkloadProcess(
                    executable: mbcasExecutable(), spec: WorkloadSpec(kind: .idle), cgroup: missing)
            }
            #expect(error?.code == .cgroupJoinFailed)
            #expect(error?.path == missing.file("cgroup.procs"))
            #expect(error?.message.contains(missing.path) == true)
            #expect(error?.message.contains("exited 125") == true)
        }

        @Test func aMissingExecutableFailsBeforeSpawning() {
            let error = #expect(throws: WorkloadError.self) {
                _ = try WorkloadProcess(
                    executable: "/nonexistent/mbcas", spec: WorkloadSpec(kind: .idle),
                    cgroup: CgroupDirectory(path: "/sys/fs/cgroup/cpu"))
            }
            #expect(error?.code == .executableNotFound)
            #expect(error?.message.contains("/nonexistent/mbcas") == true)
        }

        @Test func anInvalidSpecFailsBeforeSpawning() throws {
            let error = #expect(throws: WorkloadError.self) {
                _ = try WorkloadProcess(
                    executable: mbcasExecutable(), spec: WorkloadSpec(kind: .idle, threads: 0),
                    cgroup: CgroupDirectory(path: "/sys/fs/cgroup/cpu"))
            }
            #expect(error?.code == .invalidSpec)
        }

        @Test func procSelfIsRewrittenToThisProcess() {
            #expect(WorkloadProcess.resolve("/proc/self/exe") == "/proc/\(getpid())/exe")
            #expect(WorkloadProcess.resolve("/usr/bin/mbcas") == "/usr/bin/mbcas")
        }
    }
}
