import Testing

@testable import Cgroups

@Suite struct CPULimitTests {
    @Test func parsesCPUMax() throws {
        #expect(try CPULimit.parseCPUMax("max 100000\n") == CPULimit(quotaMicros: nil, periodMicros: 100_000))
        #expect(try CPULimit.parseCPUMax("20000 100000\n") == CPULimit(quotaMicros: 20_000, periodMicros: 100_000))
        #expect(try CPULimit.parseCPUMax("150000 50000") == CPULimit(quotaMicros: 150_000, periodMicros: 50_000))
    }

    @Test(arguments: ["", "max", "100000", "max max", "20000 100000 1", "-1 100000", "0 100000", "20000 0",
                      "20000  100000", " 20000 100000", "20000 1e5"])
    func rejectsMalformedCPUMax(text: String) throws {
        let error = try #require(throws: CgroupError.self) { try CPULimit.parseCPUMax(text, path: "/cg/cpu.max") }
        #expect(error.code == .malformedContent)
        #expect(error.path == "/cg/cpu.max")
        #expect(error.message.contains("/cg/cpu.max"))
    }

    @Test func formatsCPUMax() {
        #expect(CPULimit.unlimited().cpuMaxValue == "max 100000")
        #expect(CPULimit(quotaMicros: 20_000, periodMicros: 100_000).cpuMaxValue == "20000 100000")
        #expect(CPULimit(quotaMicros: 5_000, periodMicros: 10_000).description == "5000 10000")
    }

    @Test func cpuMaxRoundTrips() throws {
        for limit in [CPULimit.unlimited(periodMicros: 250_000), CPULimit(quotaMicros: 1_000, periodMicros: 1_000),
                      CPULimit(quotaMicros: CPULimit.maxQuotaMicros, periodMicros: 1_000_000)] {
            #expect(try CPULimit.parseCPUMax(limit.cpuMaxValue + "\n") == limit)
        }
    }

    @Test func parsesV1Files() throws {
        #expect(try CPULimit.parseV1(quota: "-1\n", period: "100000\n") == CPULimit.unlimited())
        #expect(try CPULimit.parseV1(quota: "50000\n", period: "100000\n") == CPULimit(quotaMicros: 50_000))
        // The kernel stores any negative write as -1, but a value it printed otherwise still means "no limit".
        #expect(try CPULimit.parseV1(quota: "-5", period: "100000").isUnlimited)
        let error = try #require(throws: CgroupError.self) {
            try CPULimit.parseV1(quota: "abc\n", period: "100000\n", quotaPath: "/cg/cpu.cfs_quota_us")
        }
        #expect(error.message.contains("/cg/cpu.cfs_quota_us"))
        #expect(throws: CgroupError.self) { try CPULimit.parseV1(quota: "1000", period: "0") }
        #expect(throws: CgroupError.self) { try CPULimit.parseV1(quota: "0", period: "100000") }
    }

    @Test(arguments: [
        (Int64(500), Int64(100_000), Int64(50_000)),
        (1000, 100_000, 100_000),
        (2500, 100_000, 250_000),
        (250, 50_000, 12_500),
        (1, 100_000, 1_000),  // raised to the kernel minimum
        (0, 100_000, 1_000),
        (-3, 100_000, 1_000),
    ])
    func millicoresToQuota(millicores: Int64, period: Int64, quota: Int64) {
        let limit = CPULimit(millicores: millicores, periodMicros: period)
        #expect(limit.quotaMicros == quota)
        #expect(limit.periodMicros == period)
    }

    @Test func quotaToMillicores() {
        #expect(CPULimit(quotaMicros: 50_000, periodMicros: 100_000).millicores == 500)
        #expect(CPULimit(quotaMicros: 200_000, periodMicros: 100_000).millicores == 2000)
        #expect(CPULimit(quotaMicros: 33_333, periodMicros: 100_000).millicores == 333)
        #expect(CPULimit(quotaMicros: 33_350, periodMicros: 100_000).millicores == 334)  // rounds to nearest
        #expect(CPULimit(quotaMicros: 1_000, periodMicros: 3_000).millicores == 333)
        #expect(CPULimit.unlimited().millicores == nil)
        #expect(CPULimit(quotaMicros: Int64.max, periodMicros: 1_000_000).millicores != nil)
    }

    @Test func millicoresRoundTripAtTheDefaultPeriod() {
        for millicores in stride(from: Int64(10), through: 64_000, by: 37) {
            #expect(CPULimit(millicores: millicores).millicores == millicores)
        }
    }

    @Test func validationMatchesKernelRanges() throws {
        try CPULimit(quotaMicros: 1_000, periodMicros: 1_000).validate()
        try CPULimit(quotaMicros: CPULimit.maxQuotaMicros, periodMicros: 1_000_000).validate()
        try CPULimit.unlimited().validate()
        let bad: [CPULimit] = [
            CPULimit(quotaMicros: 999), CPULimit(quotaMicros: CPULimit.maxQuotaMicros + 1),
            CPULimit(quotaMicros: 50_000, periodMicros: 999), CPULimit(quotaMicros: nil, periodMicros: 1_000_001),
            CPULimit(millicores: Int64.max),
        ]
        for limit in bad {
            let error = try #require(throws: CgroupError.self) { try limit.validate(path: "/cg") }
            #expect(error.code == .invalidValue)
            #expect(error.message.contains("/cg"))
        }
    }

    // MARK: - Plain files (write logic without the kernel's checks)

    @Test func writesAndReadsV2FileInOneWrite() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.writeFile("cpu.max", "max 100000\n")
        try CPULimit(quotaMicros: 30_000, periodMicros: 100_000).write(cgroupPath: dir.path, version: .v2)
        #expect(try dir.readFile("cpu.max") == "30000 100000")
        #expect(try CPULimit.read(cgroupPath: dir.path, version: .v2) == CPULimit(quotaMicros: 30_000))
        try CPULimit.unlimited(periodMicros: 50_000).write(cgroupPath: dir.path, version: .v2)
        #expect(try dir.readFile("cpu.max") == "max 50000")
    }

    @Test func writesV1Files() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.writeFile("cpu.cfs_quota_us", "-1\n")
        try dir.writeFile("cpu.cfs_period_us", "100000\n")
        try CPULimit(quotaMicros: 40_000).write(cgroupPath: dir.path, version: .v1)
        #expect(try dir.readFile("cpu.cfs_quota_us") == "40000")
        try CPULimit(quotaMicros: 20_000, periodMicros: 50_000).write(cgroupPath: dir.path, version: .v1)
        #expect(try CPULimit.read(cgroupPath: dir.path, version: .v1) == CPULimit(quotaMicros: 20_000, periodMicros: 50_000))
        try CPULimit.unlimited(periodMicros: 50_000).write(cgroupPath: dir.path, version: .v1)
        #expect(try dir.readFile("cpu.cfs_quota_us") == "-1")
    }

    @Test func invalidValueIsRejectedBeforeWriting() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.writeFile("cpu.max", "max 100000\n")
        let error = try #require(throws: CgroupError.self) {
            try CPULimit(quotaMicros: 10, periodMicros: 100_000).write(cgroupPath: dir.path, version: .v2)
        }
        #expect(error.code == .invalidValue)
        #expect(try dir.readFile("cpu.max") == "max 100000\n")
    }

    @Test func writeErrorsCarryPathAndErrno() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        // ENOENT: no such cgroup.
        let missing = try #require(throws: CgroupError.self) {
            try CPULimit(quotaMicros: 10_000).write(cgroupPath: dir.path + "/gone", version: .v2)
        }
        #expect(missing.code == .systemCall)
        #expect(missing.errno == .noSuchFileOrDirectory)
        #expect(missing.path == dir.path + "/gone/cpu.max")
        #expect(missing.message.contains(dir.path + "/gone/cpu.max"))
        #expect(missing.message.contains("No such file or directory"))
        // EISDIR: the file is a directory.
        try dir.makeDirectory("cpu.max")
        let isDirectory = try #require(throws: CgroupError.self) {
            try CPULimit(quotaMicros: 10_000).write(cgroupPath: dir.path, version: .v2)
        }
        #expect(isDirectory.errno == .isDirectory)
        #expect(isDirectory.path == dir.path + "/cpu.max")
    }

    @Test func writeToProcReportsTheKernelsErrno() throws {
        // /proc/self/stat is read-only for everyone: open for writing fails whatever the user.
        let error = try #require(throws: CgroupError.self) { try FileIO.write("1", to: "/proc/self/stat") }
        #expect(error.code == .systemCall)
        #expect(error.errno != nil)
        #expect(error.message.contains("/proc/self/stat"))
    }
}
