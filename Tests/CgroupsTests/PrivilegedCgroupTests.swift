import Foundation
import Glibc
import TestSupport
import Testing

@testable import Cgroups

/// Tests on real cgroups under the live cpu hierarchy (on this machine: v1 at /sys/fs/cgroup/cpu).
/// Each creates `mbcas-test-<random>` and removes it when done.
@Suite(.enabled(if: Privileged.canRun, "needs root; MBCAS_REQUIRE_PRIVILEGED_TESTS=1 makes a missing privilege fail"))
struct PrivilegedCgroupTests {
    @Test func idsAreInodesAndTheIndexMapsThemBothWays() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        let a = try cgroup.directory.createChild("a")
        let b = try a.createChild("b")
        let relativeA = cgroup.relativePath + "/a"
        let relativeB = relativeA + "/b"

        var index = try CgroupIndex(hierarchy: cgroup.hierarchy, subtree: cgroup.relativePath)
        #expect(index.count == 3)
        var ids: Set<UInt64> = []
        for (directory, relative) in [(cgroup.directory, cgroup.relativePath), (a, relativeA), (b, relativeB)] {
            let id = try cgroupID(of: directory.path)
            #expect(id == inodeNumber(directory.path))
            #expect(index.id(forPath: relative) == id)
            #expect(index.path(forID: id) == relative)
            ids.insert(id)
        }
        #expect(ids.count == 3)

        let whole = try CgroupIndex(hierarchy: cgroup.hierarchy)
        #expect(whole.id(forPath: "/") == inodeNumber(cgroup.hierarchy.mountPoint))
        #expect(whole.id(forPath: relativeB) == inodeNumber(b.path))

        let c = try a.createChild("c")
        try b.remove()
        try index.refresh(subtree: relativeA)
        #expect(index.id(forPath: relativeA + "/c") == inodeNumber(c.path))
        #expect(index.id(forPath: relativeB) == nil)
        #expect(index.count == 3)
    }

    @Test func limitRoundTrip() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        let path = cgroup.directory.path
        let version = cgroup.hierarchy.version
        let limits = [
            CPULimit(quotaMicros: 50_000, periodMicros: 100_000),
            CPULimit.unlimited(),
            CPULimit(millicores: 1500),
            CPULimit(quotaMicros: 25_000, periodMicros: 50_000),
            CPULimit(quotaMicros: 7_000, periodMicros: 10_000),
            CPULimit(quotaMicros: 300_000, periodMicros: 1_000_000),
            CPULimit.unlimited(periodMicros: 100_000),
        ]
        // The oracle is the kernel's own text in the files, read raw, not CPULimit.read.
        func raw(_ file: String) throws -> String {
            try String(contentsOfFile: "\(path)/\(file)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for limit in limits {
            try limit.write(cgroupPath: path, version: version)
            let quota = limit.quotaMicros.map(String.init)
            switch version {
            case .v2:
                #expect(try raw("cpu.max") == "\(quota ?? "max") \(limit.periodMicros)", "\(limit)")
            case .v1:
                #expect(try raw("cpu.cfs_quota_us") == quota ?? "-1", "\(limit)")
                #expect(try raw("cpu.cfs_period_us") == "\(limit.periodMicros)", "\(limit)")
            }
            #expect(try CPULimit.read(cgroupPath: path, version: version) == limit)
        }
        #expect(try CPULimit.read(cgroupPath: path, version: version).millicores == nil)
        try CPULimit(millicores: 250).write(cgroupPath: path, version: version)
        #expect(try CPULimit.read(cgroupPath: path, version: version).millicores == 250)
    }

    @Test func kernelRejectionCarriesPathAndErrno() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        let file = cgroup.hierarchy.version == .v1 ? "cpu.cfs_period_us" : "cpu.max"
        // Bypass validate() to see the kernel's own EINVAL: a 500 µs period is below its minimum.
        let value = cgroup.hierarchy.version == .v1 ? "500" : "max 500"
        let error = try #require(throws: CgroupError.self) { try FileIO.write(value, to: cgroup.directory.file(file)) }
        #expect(error.errno == .invalidArgument)
        #expect(error.path == cgroup.directory.file(file))
        #expect(error.message.contains("Invalid argument"))

        let gone = cgroup.directory.child("gone")
        let missing = try #require(throws: CgroupError.self) {
            try CPULimit(quotaMicros: 10_000).write(cgroupPath: gone.path, version: cgroup.hierarchy.version)
        }
        #expect(missing.errno == .noSuchFileOrDirectory)
        #expect(missing.path?.hasPrefix(gone.path) == true)
    }

    @Test func childQuotaAboveItsParent() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        let version = cgroup.hierarchy.version
        try delegateCPU(to: cgroup.directory, version: version)  // v2: the child gets its own cpu.max
        let child = try cgroup.directory.createChild("child")
        try CPULimit(quotaMicros: 50_000).write(cgroupPath: cgroup.directory.path, version: version)
        let tooMuch = CPULimit(quotaMicros: 60_000)
        switch version {
        case .v1:
            // v1 refuses a child ratio above its limited parent's, naming the child's file.
            let error = try #require(throws: CgroupError.self) { try tooMuch.write(cgroupPath: child.path, version: .v1) }
            #expect(error.code == .systemCall)
            #expect(error.errno == .invalidArgument)
            #expect(error.path == child.file(CPULimit.cfsQuotaFileName))
            #expect(error.message.contains("ancestor"))
            // Raising the parent first makes it legal.
            try CPULimit(quotaMicros: 80_000).write(cgroupPath: cgroup.directory.path, version: .v1)
            try tooMuch.write(cgroupPath: child.path, version: .v1)
        case .v2:
            // v2 accepts it and caps the child by the parent at run time.
            try tooMuch.write(cgroupPath: child.path, version: .v2)
        }
        #expect(try CPULimit.read(cgroupPath: child.path, version: version) == tooMuch)
    }

    @Test func changingQuotaAndPeriodTogetherKeepsTheHierarchyValid() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        let version = cgroup.hierarchy.version
        let parent = cgroup.directory
        try delegateCPU(to: parent, version: version)  // v2: the child gets its own cpu.max
        let child = try parent.createChild("child")
        try CPULimit(quotaMicros: 50_000, periodMicros: 100_000).write(cgroupPath: parent.path, version: version)
        try CPULimit(quotaMicros: 40_000, periodMicros: 100_000).write(cgroupPath: child.path, version: version)

        // Same 0.5 ratio with a shorter period: quota-first would dip below the child's 0.4 and
        // period-first would exceed nothing (the test root is unlimited): needs the fallback order.
        let parentTarget = CPULimit(quotaMicros: 10_000, periodMicros: 20_000)
        try parentTarget.write(cgroupPath: parent.path, version: version)
        #expect(try CPULimit.read(cgroupPath: parent.path, version: version) == parentTarget)

        // Child 0.4 -> 0.5 at a 10 ms period: period-first would give 4.0, above the parent's 0.5.
        let childTarget = CPULimit(quotaMicros: 5_000, periodMicros: 10_000)
        try childTarget.write(cgroupPath: child.path, version: version)
        #expect(try CPULimit.read(cgroupPath: child.path, version: version) == childTarget)
        #expect(try CPULimit.read(cgroupPath: parent.path, version: version) == parentTarget)
    }

    @Test func throttlingShowsInCPUStatAndUsage() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        let version = cgroup.hierarchy.version
        let before = try CPUStat.read(cgroupPath: cgroup.directory.path, version: version)
        #expect(before.nrThrottled == 0 && before.throttledNanos == 0)

        // Usage on v1 lives in the cpuacct hierarchy, unless it is co-mounted with cpu.
        var usageCgroup: TemporaryCgroup?
        if version == .v1, let cpuacct = try? CgroupHierarchy.discover(controller: "cpuacct"),
            cpuacct != cgroup.hierarchy
        {
            usageCgroup = try TemporaryCgroup(in: cpuacct)
        }
        defer { usageCgroup?.removeRecordingFailure() }

        try CPULimit(quotaMicros: 10_000, periodMicros: 100_000).write(cgroupPath: cgroup.directory.path, version: version)
        let spinner = try ChildProcess(shell: "while :; do :; done")
        defer { spinner.stop() }
        try cgroup.directory.movePID(spinner.pid)
        try usageCgroup?.directory.movePID(spinner.pid)
        #expect(try cgroup.directory.pids() == [spinner.pid])
        sleepMilliseconds(700)

        let after = try CPUStat.read(cgroupPath: cgroup.directory.path, version: version)
        #expect(after.nrThrottled > 0)
        #expect(after.throttledNanos > 0)
        #expect(after.nrPeriods >= after.nrThrottled)

        let usage: UInt64
        if version == .v2 {
            usage = try #require(after.usageNanos)
        } else {
            let accounting = usageCgroup?.directory.path ?? cgroup.directory.path
            usage = try CPUUsage.readCPUAcctUsage(cgroupPath: accounting)
        }
        // 10 % of 700 ms is 70 ms; allow generous slack but far below an unthrottled 700 ms.
        #expect(usage > 0)
        #expect(usage < 350_000_000)

        let sched = try Schedstat.read(pid: spinner.pid)
        #expect(sched.runNanos > 0)
        #expect(sched.timeslices > 0)
    }

    @Test func removeMovesProcessesOutFirst() throws {
        let cgroup = try TemporaryCgroup()
        var removed = false
        defer { if !removed { cgroup.removeRecordingFailure() } }
        let nested = try cgroup.directory.createChild("a").createChild("b")
        let sleeper = try ChildProcess(shell: "exec sleep 30")
        defer { sleeper.stop() }
        try nested.movePID(sleeper.pid)
        #expect(try nested.pids() == [sleeper.pid])
        #expect(try cgroup.directory.children() == ["a"])

        try cgroup.directory.remove()
        removed = true
        #expect(!cgroup.directory.exists)
        let root = CgroupDirectory(path: cgroup.hierarchy.mountPoint)
        #expect(try root.pids().contains(sleeper.pid))
    }

    @Test func busyCgroupGivesUpWithATypedError() throws {
        let cgroup = try TemporaryCgroup()
        defer { cgroup.removeRecordingFailure() }
        try cgroup.directory.createChild("child")
        let error = try #require(throws: CgroupError.self) {
            try cgroup.directory.remove(recursive: false, attempts: 3, retryInterval: .milliseconds(1))
        }
        #expect(error.code == .busy)
        #expect(error.errno == .resourceBusy)
        #expect(error.path == cgroup.directory.path)
        #expect(cgroup.directory.exists)
    }

    @Test(.enabled(if: (try? MountInfo.read().contains { $0.fsType == "cgroup2" }) == true, "needs a cgroup2 mount"))
    func cgroup2TreeIndexAndManagement() throws {
        // Any cgroup2 mount will do (on this machine one without the cpu controller).
        let entry = try #require(try MountInfo.read().first { $0.fsType == "cgroup2" })
        let cgroup = try TemporaryCgroup(in: CgroupHierarchy(version: .v2, mountPoint: entry.mountPoint))
        defer { cgroup.removeRecordingFailure() }
        let child = try cgroup.directory.createChild("leaf")
        let index = try CgroupIndex(hierarchy: cgroup.hierarchy, subtree: cgroup.relativePath)
        #expect(index.id(forPath: cgroup.relativePath + "/leaf") == inodeNumber(child.path))

        let stat = try CPUStat.read(cgroupPath: child.path, version: .v2)
        #expect(stat.usageNanos != nil)

        let sleeper = try ChildProcess(shell: "exec sleep 30")
        defer { sleeper.stop() }
        try child.movePID(sleeper.pid)
        #expect(try child.pids() == [sleeper.pid])
        try child.remove()
        #expect(!child.exists)
    }
}
