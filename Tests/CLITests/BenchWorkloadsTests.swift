import Cgroups
import Foundation
import ProcessControl
import TestSupport
import Testing

/// `scripts/bench-workloads --quick` as a user runs it: every scenario under every policy produced
/// figures, the files exist and parse, nothing is left behind. The figures themselves are the
/// benchmark's business: nothing here asserts how fast any policy was.
@Suite("scripts/bench-workloads", .serialized, .enabled(if: Privileged.canRun))
struct BenchWorkloadsTests {
    static let scenarios = ["web-batch", "alternating", "weighted-batch", "idle-pods"]
    static let policies = ["static", "static-burst", "fair", "fair-weighted", "koordinator", "agent-poll", "agent-push",
                           "agent-push-hints"]
    /// Figures each scenario must have under every policy: the ones its table is about. (Not
    /// "burners to 90% s": a policy that never reaches fair share's level has none, rightly.)
    static let headline = ["web-batch": ["web req/s", "web p99 ms", "batch bogo-ops/s", "web throttled s"],
                           "alternating": ["web req/s", "cache req/s", "cache p99 ms"],
                           "weighted-batch": ["share error %", "batch-w4 used m"],
                           "idle-pods": ["burners used m", "idle changes max", "changes total"]]
    static let prefix = "mbcas-bench-workloads-"

    func script() throws -> String {
        let path = ProjectPaths.repository.appendingPathComponent("scripts/bench-workloads").path
        try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing or not executable")
        return path
    }

    /// The debug mbcas built beside the tests, so the script never starts a release build.
    func mbcas() throws -> [String] { ["--mbcas", try requireBuiltProduct("mbcas")] }

    /// Budget parents and pin roots named after a benchmark process that is gone.
    func leftovers() throws -> [String] {
        let hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        var roots = [hierarchy.mountPoint, "/sys/fs/bpf"]
        if let acct = try? CgroupHierarchy.discover(controller: "cpuacct") { roots.append(acct.mountPoint) }
        return roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { name -> String? in
                guard name.hasPrefix(Self.prefix), let pid = Int32(name.dropFirst(Self.prefix.count)), kill(pid, 0) != 0
                else { return nil }
                return root + "/" + name
            }
        }
    }

    @Test("--quick: every scenario × policy has figures and no error; summary.json, summary.md and the PNGs exist")
    func quick() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-workloads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runCommand(try script(), ["--quick", "--out", out.path] + (try mbcas()), timeout: 600)
        #expect(!result.timedOut, "still running after 600 s")
        try #require(result.status == 0, "exit \(result.status); stderr: \(result.stderr.suffix(3000))")

        let data = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let scenarios = try #require(summary["scenarios"] as? [[String: Any]])
        #expect(scenarios.compactMap { $0["name"] as? String } == Self.scenarios)
        for scenario in scenarios {
            let name = scenario["name"] as? String ?? "?"
            let policies = try #require(scenario["policies"] as? [[String: Any]], "\(name): no policies")
            #expect(policies.compactMap { $0["policy"] as? String } == Self.policies, "\(name)")
            for policy in policies {
                let label = "\(name) \(policy["policy"] as? String ?? "?")"
                #expect(policy["runs"] as? Int == 1, "\(label): runs")
                #expect((policy["errors"] as? [String]) == [], "\(label): \(policy["errors"] ?? "")")
                let metrics = try #require(policy["metrics"] as? [String: [String: Any]], "\(label): no metrics")
                for key in Self.headline[name] ?? [] {
                    #expect(metrics[key]?["median"] is NSNumber, "\(label): no \(key)")
                }
                if (policy["policy"] as? String)?.hasPrefix("agent-") == true {
                    #expect(metrics["agent CPU %"]?["median"] is NSNumber, "\(label): no agent CPU %")
                }
            }
        }

        let markdown = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        for name in Self.scenarios { #expect(markdown.contains("(\(name))"), "summary.md lacks \(name)") }
        #expect(markdown.contains("| agent-push-hints |"))
        for png in ["summary.png"] + Self.scenarios.map({ "timeseries-\($0).png" }) {
            let bytes = try Data(contentsOf: out.appendingPathComponent(png))
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(png) is not a PNG")
        }
        #expect(try leftovers() == [])
    }

    @Test("not root: refuses at once, saying it needs root")
    func notRoot() throws {
        let result = try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", try script(), "--quick"],
                                    timeout: 30)
        #expect(!result.timedOut)
        #expect(result.status == 1)
        #expect(result.stderr.contains("needs root"), "stderr: \(result.stderr)")
    }

    @Test("an unknown policy is refused, naming the known ones")
    func unknownPolicy() throws {
        let result = try runCommand(try script(), ["--policies", "static,magic"], timeout: 30)
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown magic") && result.stderr.contains("agent-push-hints"), "stderr: \(result.stderr)")
    }

    @Test("SIGINT mid-run: exits 130, the servers and batch are stopped, the cgroups removed")
    func interrupted() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-workloads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try script())
        process.arguments = ["--scenarios", "web-batch", "--policies", "static", "--reps", "50", "--out", out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // Wait for batch to run in the benchmark's pod: then there is something to clean up.
        let hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        let batch = CgroupDirectory(path: "\(hierarchy.mountPoint)/\(Self.prefix)\(process.processIdentifier)/pods/batch")
        var workload: [Int32] = []
        _ = await eventually(timeout: .seconds(60)) {
            workload = (try? batch.pids()) ?? []
            return !workload.isEmpty || !process.isRunning
        }
        try #require(!workload.isEmpty, "the benchmark's batch never started")
        kill(process.processIdentifier, SIGINT)
        #expect(await eventually(timeout: .seconds(30)) { !process.isRunning }, "still running 30 s after SIGINT")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        for pid in workload { #expect(kill(pid, 0) != 0, "batch process \(pid) outlived the benchmark") }
        #expect(!FileManager.default.fileExists(atPath: batch.path), "\(batch.path) is still there")
        #expect(try leftovers() == [])
    }
}
