import Cgroups
import Foundation
@testable import mbcas_bench
import ProcessControl
import TestSupport
import Testing

/// `scripts/bench-push-latency` as a user runs it, with few episodes: the files exist and parse,
/// everything is cleaned up. No timing is asserted: the figures are the benchmark's business.
@Suite("scripts/bench-push-latency", .serialized, .enabled(if: Privileged.canRun))
struct BenchPushLatencyTests {
    static let methods: Set<String> = ["push-detect", "push-react", "poll-1s", "poll-100ms", "poll-10ms", "psi"]

    /// The script, found from the package root (the tests' working directory).
    func script() throws -> String {
        let candidates = [FileManager.default.currentDirectoryPath,
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                              .deletingLastPathComponent().path]
        let found = candidates.map { $0 + "/scripts/bench-push-latency" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(found, "scripts/bench-push-latency not found under \(candidates)")
    }

    /// The debug mbcas-bench built beside the tests: passed as MBCAS_BENCH so the script never
    /// starts a release build.
    func environment() throws -> [String] {
        ["MBCAS_BENCH=\(try requireBuiltProduct("mbcas-bench"))"]
    }

    /// `mbcas-bench-push-<pid>` cgroups, pins and probe lock files whose process is gone: what a run
    /// left behind.
    func leftovers() throws -> [String] {
        let hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        var roots = [hierarchy.mountPoint, "/sys/fs/bpf", "/run/lock"]
        if let unified = (try? MountInfo.read())?.first(where: { $0.fsType == "cgroup2" })?.mountPoint { roots.append(unified) }
        return roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { name -> String? in
                let prefix = name.hasPrefix("mbcas_sys_fs_bpf_") ? "mbcas_sys_fs_bpf_mbcas-bench-push-" : "mbcas-bench-push-"
                guard name.hasPrefix(prefix),
                      let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }),
                      kill(pid, 0) != 0 else { return nil }
                return root + "/" + name
            }
        }
    }

    @Test("--episodes 20: summary.json has the six methods and the cost fields, summary.md and a PNG exist")
    func smoke() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-push-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runCommand("/usr/bin/env", try environment() + [try script(), "--episodes", "20", "--out", out.path],
                                    timeout: 240)
        #expect(!result.timedOut, "still running after 240 s")
        try #require(result.status == 0, "exit \(result.status); stderr: \(result.stderr)")

        let data = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let methods = try #require(summary["methods"] as? [[String: Any]])
        #expect(Set(methods.compactMap { $0["method"] as? String }) == Self.methods)
        for method in methods {
            for key in ["method", "samples", "p50_ns", "p90_ns", "p99_ns", "max_ns", "samples_ns"] {
                #expect(method[key] != nil, "\(method["method"] ?? "?") lacks \(key)")
            }
        }
        let pushDetect = try #require(methods.first { $0["method"] as? String == "push-detect" })
        #expect((pushDetect["samples"] as? Int ?? 0) > 0, "no throttle episode was pushed")
        for key in ["bpf_ns_per_run", "agent_cpu_percent", "agent_rss_bytes"] {
            #expect(summary[key] != nil, "summary.json lacks \(key)")
        }

        let markdown = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(markdown.contains("| push-detect |"))
        let png = try Data(contentsOf: out.appendingPathComponent("latency-cdf.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "latency-cdf.png is not a PNG")
        #expect(try leftovers() == [])
    }

    @Test("not root: refuses at once, saying it needs root")
    func notRoot() throws {
        let result = try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env"]
                                        + (try environment()) + [try script(), "--episodes", "5"], timeout: 20)
        #expect(!result.timedOut)
        #expect(result.status == 1)
        #expect(result.stderr.contains("needs root"), "stderr: \(result.stderr)")
    }

    @Test("root without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: says BPF is unavailable, leaves nothing behind")
    func noBPF() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-push-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runCommand("/usr/bin/setpriv", ["--inh-caps=-all", "--bounding-set=-bpf,-perfmon,-sys_admin", "/usr/bin/env"]
                                        + (try environment()) + [try script(), "--episodes", "5", "--out", out.path], timeout: 60)
        #expect(!result.timedOut)
        #expect(result.status != 0)
        #expect(result.stderr.contains("BPF is unavailable") && result.stderr.contains("CAP_BPF"), "stderr: \(result.stderr)")
        #expect(try leftovers() == [])
    }

    @Test("SIGINT mid-run: exits 130, workload stopped, cgroups and pins removed")
    func interrupted() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-push-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = try environment() + [try script(), "--episodes", "100000", "--duration", "60", "--out", out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // Wait for the workload to run in the benchmark's cgroup: then there is something to clean up.
        let hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        var benchPID: Int32?
        let deadline = Date().addingTimeInterval(60)
        while benchPID == nil, Date() < deadline, process.isRunning {
            Thread.sleep(forTimeInterval: 0.2)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: hierarchy.mountPoint)) ?? []
            for name in names where name.hasPrefix("mbcas-bench-push-") {
                let pid = Int32(name.dropFirst("mbcas-bench-push-".count))
                let work = CgroupDirectory(path: "\(hierarchy.mountPoint)/\(name)/bursty/work")
                if let pid, kill(pid, 0) == 0, ((try? work.pids()) ?? []).isEmpty == false { benchPID = pid }
            }
        }
        let pid = try #require(benchPID, "the benchmark's workload never started")
        kill(process.processIdentifier, SIGINT)
        let stop = Date().addingTimeInterval(20)
        while process.isRunning, Date() < stop { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!process.isRunning, "still running 20 s after SIGINT")
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(kill(pid, 0) != 0, "mbcas-bench (\(pid)) outlived the script")
        #expect(try leftovers() == [])
        let workloads = try runCommand("/usr/bin/pgrep", ["-f", "--", "parent-pid \(pid)$"], timeout: 5)
        #expect(workloads.stdout.isEmpty, "workload still running: \(workloads.stdout)")
    }
}

/// How baseline detections are charged to the pushed episodes (pure: no privilege, no timing).
@Suite("push-latency episode matching")
struct EpisodeMatchingTests {
    typealias Episode = EpisodeMatcher.Episode
    let ms: UInt64 = 1_000_000

    @Test("cpu.stat: a poll sees the oldest unseen episode and those that have ended, not one in progress")
    func endedCoverage() {
        let episodes = [Episode(start: 0, end: 70 * ms), Episode(start: 80 * ms, end: 150 * ms),
                        Episode(start: 200 * ms, end: 270 * ms)]
        let result = EpisodeMatcher.match(episodes: episodes, detections: [100 * ms, 160 * ms, 280 * ms], coverage: .ended)
        #expect(result.samplesNanos == [100 * ms, 80 * ms, 80 * ms])
        #expect(result.episodesSeen == 3 && result.episodesMissed == 0 && result.unmatchedDetections == 0)
    }

    @Test("cpu.stat: one poll after several ended episodes yields one sample, from the oldest")
    func onePollManyEpisodes() {
        let episodes = [Episode(start: 0, end: 10 * ms), Episode(start: 20 * ms, end: 30 * ms), Episode(start: 40 * ms, end: nil)]
        let result = EpisodeMatcher.match(episodes: episodes, detections: [1000 * ms], coverage: .ended)
        #expect(result.samplesNanos == [1000 * ms])
        #expect(result.episodesSeen == 2 && result.episodesMissed == 1)
    }

    @Test("PSI: an event covers every episode begun before it; later events with nothing new are unmatched")
    func begunCoverage() {
        let episodes = [Episode(start: 0, end: nil), Episode(start: 100 * ms, end: nil), Episode(start: 200 * ms, end: nil)]
        let result = EpisodeMatcher.match(episodes: episodes, detections: [400 * ms, 250 * ms, 10 * ms], coverage: .begun)
        #expect(result.samplesNanos == [10 * ms, 150 * ms])
        #expect(result.episodesSeen == 3 && result.unmatchedDetections == 1)
    }

    @Test("nearest-rank percentiles; no samples encode as explicit nulls")
    func percentiles() throws {
        let method = MethodResult(method: "poll-1s", timed: "", samplesNanos: (1...100).reversed().map { UInt64($0) })
        #expect(method.p50 == 50 && method.p90 == 90 && method.p99 == 99 && method.maximum == 100)
        let empty = MethodResult(method: "psi", timed: "", samplesNanos: [], unavailable: "refused")
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(empty)) as? [String: Any])
        for key in ["p50_ns", "p90_ns", "p99_ns", "max_ns"] { #expect(object[key] is NSNull, "\(key)") }
        #expect(object["samples"] as? Int == 0)
    }

    @Test("cpu.stat counters from v1 and v2 text")
    func counters() {
        func parse(_ text: String) -> (UInt64?, UInt64?, UInt64?) {
            Array(text.utf8).withUnsafeBufferPointer { bytes in
                (CPUStatPoller.value(of: Array("nr_throttled ".utf8), in: bytes),
                 CPUStatPoller.value(of: Array("throttled_time ".utf8), in: bytes),
                 CPUStatPoller.value(of: Array("throttled_usec ".utf8), in: bytes))
            }
        }
        #expect(parse("nr_periods 12\nnr_throttled 7\nthrottled_time 123456\n") == (7, 123456, nil))
        #expect(parse("usage_usec 5\nnr_periods 3\nnr_throttled 2\nthrottled_usec 99\nnr_bursts 0\n") == (2, nil, 99))
        #expect(parse("nr_periods 3\n").0 == nil)
    }
}
