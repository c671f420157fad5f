import Cgroups
import Foundation
import ProcessControl
import TestSupport
import Testing

/// `mbcas demo` as a user runs it: real cgroups, real workloads, the agent.
@Suite("mbcas demo", .serialized, .enabled(if: Privileged.canRun))
struct DemoCommandTests {
    struct Summary: Decodable {
        struct Pod: Decodable {
            let name: String
            let workload: String
            let static_throttled_ns: UInt64
            let fair_share_throttled_ns: UInt64
            let mbcas_throttled_ns: UInt64
            let static_wait_ns: UInt64
            let mbcas_wait_ns: UInt64
            let static_run_ns: UInt64
            let fair_share_run_ns: UInt64
            let mbcas_run_ns: UInt64
            let spread: [String: [String: [UInt64]]]
        }
        struct Latency: Decodable { let p50: UInt64; let p99: UInt64 }
        let repetitions: Int
        let pods: [Pod]
        let decisions: Int
        let latency_ns: Latency
    }

    func demoLeftovers() throws -> [String] {
        let hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        var left: [String] = []
        if CgroupDirectory(hierarchy: hierarchy, relativePath: "/mbcas-demo").exists { left.append("the mbcas-demo cgroup") }
        if FileManager.default.fileExists(atPath: "/sys/fs/bpf/mbcas-demo") { left.append("/sys/fs/bpf/mbcas-demo") }
        return left
    }

    @Test("--json: three phases; the bursty pod gets more CPU and is stopped less under MBCAS than under static limits; nothing is left behind")
    func summary() throws {
        let result = try runCommand(try requireBuiltProduct("mbcas"), ["demo", "--duration", "30", "--json"], timeout: 120)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let summary = try JSONDecoder().decode(Summary.self, from: Data(result.stdout.utf8))
        #expect(summary.repetitions == 1)
        #expect(Set(summary.pods.map(\.workload)) == ["bursty", "steady", "hog", "idle"])
        let bursty = try #require(summary.pods.first { $0.workload == "bursty" })
        #expect(Set(bursty.spread.keys) == ["static", "fair_share", "mbcas"])
        // The probe reports the kernel's own throttled time (cpu.stat's), which varies with how the
        // bursts fall on periods: that static limits stop the pod at all is the behaviour checked.
        #expect(bursty.static_throttled_ns > 0, "static limits should throttle the bursty pod")
        #expect(bursty.mbcas_run_ns > bursty.static_run_ns,
                "bursty ran \(bursty.mbcas_run_ns) ns under MBCAS vs \(bursty.static_run_ns) ns static")
        #expect(bursty.mbcas_throttled_ns < bursty.static_throttled_ns,
                "bursty: \(bursty.mbcas_throttled_ns) ns throttled under MBCAS vs \(bursty.static_throttled_ns) ns static")
        #expect(summary.decisions > 0)
        #expect(summary.latency_ns.p99 >= summary.latency_ns.p50)
        #expect(try demoLeftovers() == [])
    }

    @Test("Ctrl-C mid-run: workloads stopped, cgroups and pins removed")
    func interrupted() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try requireBuiltProduct("mbcas"))
        process.arguments = ["demo", "--duration", "60", "--json"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 4)
        kill(process.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!process.isRunning, "the demo did not stop within 15 s of SIGINT")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(try demoLeftovers() == [])
        let workloads = try runCommand("/usr/bin/pgrep", ["-f", "mbcas workload"], timeout: 5)
        #expect(workloads.stdout.isEmpty, "workloads still running: \(workloads.stdout)")
    }
}
