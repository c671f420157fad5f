import Foundation
import Testing

@testable import Cgroups

/// The weight and burst files on cgroup v2, tested on file samples in a temporary directory (this
/// machine's cpu controller is on v1, where the privileged tests write the real files).
@Suite struct WeightAndBurstFileTests {
    func sampleCgroup(_ files: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "mbcas-v2-sample-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, content) in files { try content.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8) }
        return dir
    }

    @Test("v2 cpu.weight: written with the runtimes' conversion from shares, read back to the smallest shares that convert to it")
    func v2Weight() throws {
        let dir = try sampleCgroup(["cpu.weight": "100\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CPUShares.read(cgroupPath: dir, version: .v2) == CPUShares.shares(v2Weight: 100))
        try CPUShares.write(1434, cgroupPath: dir, version: .v2)
        #expect(try String(contentsOfFile: dir + "/cpu.weight", encoding: .utf8) == "55")  // 1 + (1432 × 9999) / 262142
        #expect(CPUShares.v2Weight(shares: 2) == 1 && CPUShares.v2Weight(shares: 262_144) == 10_000)
        for weight in [1, 2, 39, 100, 5000, 10_000] {
            #expect(CPUShares.v2Weight(shares: CPUShares.shares(v2Weight: weight)) == weight)
        }
    }

    @Test("v2 cpu.max.burst: written in µs, read back; a missing file is ENOENT (kernels before 5.14)")
    func v2Burst() throws {
        let dir = try sampleCgroup(["cpu.max": "max 100000\n", "cpu.max.burst": "0\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CPUBurst.write(micros: CPUBurst.micros(for: CPULimit(millicores: 1500)), cgroupPath: dir, version: .v2)
        #expect(try CPUBurst.read(cgroupPath: dir, version: .v2) == 150_000)
        #expect(CPUBurst.micros(for: .unlimited()) == 0)
        try FileManager.default.removeItem(atPath: dir + "/cpu.max.burst")
        #expect(!CPUBurst.isSupported(cgroupPath: dir, version: .v2))
        let error = try #require(throws: CgroupError.self) { try CPUBurst.read(cgroupPath: dir, version: .v2) }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.message.contains("cpu.max.burst"))
    }

    @Test("malformed weight and burst files name the file")
    func malformed() throws {
        let dir = try sampleCgroup(["cpu.shares": "lots\n", "cpu.cfs_burst_us": "-3\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect { try CPUShares.read(cgroupPath: dir, version: .v1) } throws: { "\($0)".contains("cpu.shares") }
        #expect { try CPUBurst.read(cgroupPath: dir, version: .v1) } throws: { "\($0)".contains("cpu.cfs_burst_us") }
    }
}
