import Foundation

/// A process that spins on the CPU, started inside a cgroup (it joins the
/// cgroup before it starts burning, so all of its CPU time counts there).
public final class Burner: @unchecked Sendable {
    // @unchecked: Process is used from the creating test only.
    private let process: Process

    /// The burner's pid (one thread).
    public var pid: Int32 { process.processIdentifier }

    /// Starts a busy loop in the cgroup at `cgroupPath`, pinned to `cpu` if given.
    public init(cgroupPath: String, cpu: Int? = nil) throws {
        let loop = "while :; do :; done"
        let spin = cpu.map { "exec taskset -c \($0) /bin/sh -c '\(loop)'" } ?? "exec /bin/sh -c '\(loop)'"
        process = try Self.start(in: cgroupPath, spin)
        try waitUntilInCgroup(cgroupPath)
    }

    /// Starts a server-like loop: busy for `busy` seconds, asleep for `idle`, again and again, the
    /// way a server bursts on requests and sleeps between them (bash's clock, so nothing forks while busy).
    public init(cgroupPath: String, busy: Double, idle: Double) throws {
        let busyMicros = Int(busy * 1_000_000)
        let loop = "while :; do e=$((${EPOCHREALTIME/./}+\(busyMicros))); while ((${EPOCHREALTIME/./}<e)); do :; done; sleep \(idle); done"
        process = try Self.start(in: cgroupPath, "exec /bin/bash -c '\(loop)'")
        try waitUntilInCgroup(cgroupPath)
    }

    /// Runs `command` (sh) as a process that joins the cgroup at `cgroupPath` first, so that all
    /// it runs counts there: the burners' start, and other loads' (``SwitchingPair``).
    static func start(in cgroupPath: String, _ command: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // `echo $$` moves this shell; exec keeps the pid, so the loop runs in the cgroup.
        process.arguments = ["-c", "echo $$ > '\(cgroupPath)/cgroup.procs' && \(command)"]
        try process.run()
        return process
    }

    private func waitUntilInCgroup(_ cgroupPath: String) throws {
        for _ in 0..<200 {
            if let procs = try? String(contentsOfFile: "\(cgroupPath)/cgroup.procs", encoding: .utf8),
               procs.split(separator: "\n").contains(Substring("\(pid)")) {
                return
            }
            usleep(5_000)
        }
        throw BurnerError(message: "burner \(pid) never appeared in \(cgroupPath)/cgroup.procs")
    }

    /// Kills the burner and waits for it.
    public func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// The burner could not be started where asked.
public struct BurnerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
