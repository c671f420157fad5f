import Testing

@testable import Cgroups

@Suite struct CPUStatTests {
    @Test func v1SampleFromThisMachine() throws {
        let stat = try CPUStat.parse(Fixtures.cpuStatV1ThisMachine, version: .v1)
        #expect(stat == CPUStat(nrPeriods: 0, nrThrottled: 0, throttledNanos: 0, nrBursts: 0, burstNanos: 0))
        #expect(stat.usageNanos == nil)
        #expect(stat.waitSumNanos == nil)
    }

    @Test func v1ThrottledTimeIsAlreadyNanos() throws {
        let stat = try CPUStat.parse(Fixtures.cpuStatV1Throttled, version: .v1)
        #expect(stat.nrPeriods == 8467)
        #expect(stat.nrThrottled == 2391)
        #expect(stat.throttledNanos == 389_474_283_411)
        #expect(stat.waitSumNanos == 12_039_485_112)
        #expect(stat.nrBursts == 0)
        #expect(stat.burstNanos == 0)
    }

    @Test func v2DocsSample() throws {
        let stat = try CPUStat.parse(Fixtures.cpuStatV2Docs, version: .v2)
        #expect(stat.usageNanos == 8234 * 1000)
        #expect(stat.userNanos == 6004 * 1000)
        #expect(stat.systemNanos == 2229 * 1000)
        #expect(stat.nrPeriods == 0)
        #expect(stat.throttledNanos == 0)
        #expect(stat.nrBursts == 0)
        #expect(stat.burstNanos == 0)
    }

    @Test func v2MicrosecondsAreConvertedToNanos() throws {
        let stat = try CPUStat.parse(Fixtures.cpuStatV2Throttled, version: .v2)
        #expect(stat.throttledNanos == 96_640_528 * 1000)
        #expect(stat.burstNanos == 43_120 * 1000)
        #expect(stat.nrBursts == 12)
        #expect(stat.nrPeriods == 5120)
        #expect(stat.nrThrottled == 1733)
        #expect(stat.usageNanos == 58_711_442 * 1000)
    }

    @Test func v2WithoutBandwidthKeysReadsAsNeverThrottled() throws {
        let stat = try CPUStat.parse(Fixtures.cpuStatV2RootThisMachine, version: .v2)
        #expect(stat.nrPeriods == 0 && stat.nrThrottled == 0 && stat.throttledNanos == 0)
        #expect(stat.usageNanos == 117_805_174 * 1000)
        #expect(stat.nrBursts == nil)
    }

    @Test func unknownKeysAreIgnored() throws {
        let withExtra = Fixtures.cpuStatV1Throttled + "some_future_key 42\n"
        #expect(try CPUStat.parse(withExtra, version: .v1) == CPUStat.parse(Fixtures.cpuStatV1Throttled, version: .v1))
    }

    @Test(arguments: [
        ("nr_periods 1\nnr_throttled x\nthrottled_time 0\n", 2),
        ("nr_periods 1\nnr_throttled 0 0\nthrottled_time 0\n", 2),
        ("nr_periods 1\nnr_throttled\nthrottled_time 0\n", 2),
        ("nr_periods -1\nnr_throttled 0\nthrottled_time 0\n", 1),
        ("nr_periods  1\nnr_throttled 0\nthrottled_time 0\n", 1),
        ("nr_periods 1\nnr_throttled 0\nthrottled_time 0\nnr_periods 2\n", 4),
        ("nr_periods 1\nnr_throttled 0\nthrottled_time 99999999999999999999\n", 3),
    ])
    func malformedLinesAreRejectedByNumber(text: String, badLine: Int) throws {
        let error = try #require(throws: CgroupError.self) {
            try CPUStat.parse(text, version: .v1, path: "/sys/fs/cgroup/cpu/x/cpu.stat")
        }
        #expect(error.code == .malformedContent)
        #expect(error.path == "/sys/fs/cgroup/cpu/x/cpu.stat")
        let line = text.split(separator: "\n", omittingEmptySubsequences: false)[badLine - 1]
        #expect(error.message.contains("cpu.stat:\(badLine)"))
        #expect(error.message.contains(String(line)))
    }

    @Test func v1RequiresItsThrottlingKeys() throws {
        let error = try #require(throws: CgroupError.self) {
            try CPUStat.parse("nr_periods 1\nnr_throttled 0\n", version: .v1)
        }
        #expect(error.code == .missingField)
        #expect(error.message.contains("throttled_time"))
    }

    @Test func v2FileParsedAsV1IsRejected() throws {
        let error = try #require(throws: CgroupError.self) { try CPUStat.parse(Fixtures.cpuStatV2Docs, version: .v1) }
        #expect(error.code == .missingField)
        #expect(error.message.contains("throttled_time"))
    }

    @Test func v2PartialThrottlingKeysAreRejected() throws {
        let text = "usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods 3\nnr_throttled 1\n"
        let error = try #require(throws: CgroupError.self) { try CPUStat.parse(text, version: .v2) }
        #expect(error.code == .missingField)
        #expect(error.message.contains("throttled_usec"))
    }

    @Test func v2RequiresUsage() throws {
        let error = try #require(throws: CgroupError.self) {
            try CPUStat.parse("nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n", version: .v2)
        }
        #expect(error.code == .missingField)
        #expect(error.message.contains("usage_usec"))
    }

    @Test func v2OverflowingMicrosecondsAreRejected() throws {
        let text = "usage_usec 18446744073709551615\nuser_usec 0\nsystem_usec 0\n"
        let error = try #require(throws: CgroupError.self) { try CPUStat.parse(text, version: .v2) }
        #expect(error.code == .malformedContent)
        #expect(error.message.contains("usage_usec"))
    }

    @Test func cpuacctUsage() throws {
        #expect(try CPUUsage.parseCPUAcctUsage("44697264316\n") == 44_697_264_316)
        #expect(try CPUUsage.parseCPUAcctUsage("0") == 0)
        for bad in ["", "\n", "12 34\n", "-5\n", "1.5\n"] {
            let error = try #require(throws: CgroupError.self) { try CPUUsage.parseCPUAcctUsage(bad, path: "/x/cpuacct.usage") }
            #expect(error.code == .malformedContent)
            #expect(error.message.contains("/x/cpuacct.usage"))
        }
    }

    @Test func readsTheLiveCPUHierarchyRoot() throws {
        let hierarchy = try CgroupHierarchy.discover()
        let stat = try CPUStat.read(cgroupPath: hierarchy.mountPoint, version: hierarchy.version)
        #expect(stat.nrThrottled <= stat.nrPeriods)
    }

    @Test(.enabled(if: (try? CgroupHierarchy.discover(controller: "cpuacct")) != nil, "needs a v1 cpuacct hierarchy"))
    func readsLiveCPUAcctUsage() throws {
        let cpuacct = try CgroupHierarchy.discover(controller: "cpuacct")
        let first = try CPUUsage.readCPUAcctUsage(cgroupPath: cpuacct.mountPoint)
        // Burn a little CPU so the root's counter must move.
        var x: UInt64 = 1
        for i in 0..<5_000_000 { x = x &* 6364136223846793005 &+ UInt64(i) }
        #expect(x != 0)
        let second = try CPUUsage.readCPUAcctUsage(cgroupPath: cpuacct.mountPoint)
        #expect(second > first)
    }

    @Test func missingFileNamesThePath() throws {
        let error = try #require(throws: CgroupError.self) {
            try CPUStat.read(cgroupPath: "/nonexistent-mbcas", version: .v2)
        }
        #expect(error.code == .systemCall)
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.path == "/nonexistent-mbcas/cpu.stat")
        #expect(error.message.contains("/nonexistent-mbcas/cpu.stat"))
    }
}
