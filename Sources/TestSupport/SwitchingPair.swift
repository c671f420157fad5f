import Foundation

/// `stress-ng --switch 1`: a parent and a child exchanging messages through a pipe at a set
/// rate, started inside a cgroup. A light, switch-heavy load: each task runs a few µs per message
/// and sleeps between, so run queues are contended only now and then (the load of the probe's
/// low-rate cost benchmark).
public final class SwitchingPair: @unchecked Sendable {
    // @unchecked: Process is used from the creating test only.
    private let process: Process
    private let cgroupPath: String

    /// Starts the pair in the cgroup at `cgroupPath`, switching `perSecond` times a second, and
    /// waits until its three processes (stress-ng, the worker and its child) are there.
    public init(cgroupPath: String, perSecond: Int = 1000) throws {
        self.cgroupPath = cgroupPath
        process = try Burner.start(in: cgroupPath, "exec stress-ng --switch 1 --switch-freq \(perSecond) --quiet")
        for _ in 0..<400 {
            if try threads().count >= 3 { return }
            usleep(5_000)
        }
        stop()
        throw BurnerError(message: "stress-ng --switch never started its worker pair in \(cgroupPath) (is stress-ng installed?)")
    }

    /// The thread ids in the cgroup (`cgroup.threads` on v2, `tasks` on v1).
    public func threads() throws -> [Int32] {
        let v2 = "\(cgroupPath)/cgroup.threads"
        let list = FileManager.default.fileExists(atPath: v2) ? v2 : "\(cgroupPath)/tasks"
        return try String(contentsOfFile: list, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
    }

    /// Stops every task of the pair (SIGSTOP) and waits until each is stopped, so that nothing
    /// moves while both sides are read; `resume()` continues them.
    public func pause() throws {
        let tids = try threads()
        for tid in tids { kill(tid, SIGSTOP) }
        for tid in tids {
            for attempt in 0... {
                // /proc/<tid>/stat: "tid (comm) S ...": the state follows the last ')'.
                let stat = try String(contentsOfFile: "/proc/\(tid)/stat", encoding: .utf8)
                if stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ").first == "T" { break }
                if attempt == 2_000 { throw BurnerError(message: "task \(tid) did not stop on SIGSTOP") }
                usleep(1_000)
            }
        }
    }

    /// Continues the tasks `pause()` stopped.
    public func resume() {
        for tid in (try? threads()) ?? [] { kill(tid, SIGCONT) }
    }

    /// Kills stress-ng and its workers, and waits for it. SIGKILL, each: a process started from
    /// the test runner inherits its blocked signals, SIGTERM and SIGALRM (stress-ng's --timeout)
    /// among them.
    public func stop() {
        guard process.isRunning else { return }
        for tid in (try? threads()) ?? [] { kill(tid, SIGKILL) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
