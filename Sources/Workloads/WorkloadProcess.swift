public import Cgroups
internal import Glibc
internal import MonotonicTime
internal import Synchronization
internal import SystemPackage

/// A `mbcas workload` child process that lives in a given cgroup from before its first instruction
/// of work to its end, so every bit of its CPU time is accounted there.
///
/// The child is `/bin/sh`, which writes its own pid (`$$`) to each cgroup's `cgroup.procs` and then
/// `exec`s the workload, keeping the pid: the Swift runtime's start-up, and all burning after it, run
/// inside the cgroup. The initializer returns once the pid shows in the cgroup's `cgroup.procs`.
///
/// The child is told its parent's pid (`--parent-pid`) and ends by itself if this process dies, even
/// by SIGKILL. ``stop(gracePeriod:)`` sends SIGTERM, then SIGKILL after the grace period, and reaps;
/// `deinit` does the same, so a dropped handle never leaves a spinning process behind.
public final class WorkloadProcess: Sendable {
    /// The child's pid (the same before and after the shell's `exec`).
    public let pid: Int32
    /// What it runs.
    public let spec: WorkloadSpec
    /// The cgroup it was started in.
    public let cgroup: CgroupDirectory
    /// The executable actually run (`/proc/self/...` rewritten to `/proc/<our pid>/...`).
    public let executable: String

    /// The exit status once reaped; nil while the child may still run.
    private let reaped = Mutex<WorkloadExit?>(nil)

    /// Grace period between SIGTERM and SIGKILL used by `deinit` and by default: the runner stops
    /// within tens of milliseconds, so this only matters for a child that is stuck.
    public static let defaultGracePeriod: Duration = .milliseconds(500)

    /// Starts `<executable> workload ...` for `spec` as a child in `cgroup`.
    ///
    /// - Parameters:
    ///   - executable: the `mbcas` binary; pass `/proc/self/exe` to run the current binary (it is
    ///     rewritten to this process's `/proc/<pid>/exe`, which the shell would otherwise take as its own).
    ///   - spec: the workload.
    ///   - cgroup: the cgroup whose limit and accounting the workload is under.
    ///   - otherCgroups: further cgroups to join first, for cgroup v1 nodes where accounting lives in a
    ///     separate hierarchy (`cpuacct` mounted apart from `cpu`).
    ///   - joinTimeout: how long to wait for the pid to show in `cgroup.procs`.
    /// - Throws: `.invalidSpec`, `.executableNotFound`, `.startFailed`; `.cgroupJoinFailed` when the
    ///   child exits before joining (a missing cgroup, no permission: its standard error says which);
    ///   `.timedOut` (the child is killed and reaped first).
    public init(
        executable: String, spec: WorkloadSpec, cgroup: CgroupDirectory,
        otherCgroups: [CgroupDirectory] = [], joinTimeout: Duration = .seconds(5)
    ) throws(WorkloadError) {
        try spec.validate()
        let executable = Self.resolve(executable)
        guard access(executable, X_OK) == 0 else {
            let errno = Errno(rawValue: Glibc.errno)
            throw WorkloadError(
                .executableNotFound, "workload executable \(executable) is not an executable file: \(errno)",
                path: executable, errno: errno)
        }
        // The cgroup that init waits on is joined last, so seeing the pid there means all are joined.
        let procsFiles = (otherCgroups + [cgroup]).map { $0.file("cgroup.procs") }
        let script = #"while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@""#
        let arguments = ["/bin/sh", "-c", script, "mbcas-workload"] + procsFiles + ["--", executable]
            + spec.commandLineArguments + ["--parent-pid", String(getpid())]
        let pid = try ChildProcess.spawn(arguments)
        self.pid = pid
        self.spec = spec
        self.cgroup = cgroup
        self.executable = executable
        try waitUntilJoined(timeout: joinTimeout)
    }

    deinit { stop() }

    /// True until the child has ended (reaping it when it has).
    public var isRunning: Bool {
        reaped.withLock { status in
            if status == nil { status = ChildProcess.poll(pid) }
            return status == nil
        }
    }

    /// The exit status once the child has been reaped by ``stop(gracePeriod:)`` or noticed ended by
    /// ``isRunning``; nil before.
    public var exitStatus: WorkloadExit? { reaped.withLock { $0 } }

    /// Stops the child: SIGTERM, SIGKILL if it is still there after `gracePeriod`, then reaps it.
    /// Idempotent and safe from any thread; returns how it ended.
    @discardableResult
    public func stop(gracePeriod: Duration = WorkloadProcess.defaultGracePeriod) -> WorkloadExit {
        // Signals are sent under the lock, and only while unreaped: a reaped pid may already belong
        // to an unrelated process.
        reaped.withLock { status in
            if let status { return status }
            if let ended = ChildProcess.poll(pid) {
                status = ended
                return ended
            }
            kill(pid, SIGTERM)
            let deadline = monotonicNanos() &+ Self.nanos(gracePeriod)
            while monotonicNanos() < deadline {
                if let ended = ChildProcess.poll(pid) {
                    status = ended
                    return ended
                }
                sleepUntil(monotonic: monotonicNanos() + 2_000_000)
            }
            kill(pid, SIGKILL)
            let ended = ChildProcess.wait(pid)
            status = ended
            return ended
        }
    }

    /// Waits until every worker thread of the workload exists (found by name in
    /// `/proc/<pid>/task/*/comm`): from then on it is burning as its pattern says, which is when a
    /// measurement should start.
    ///
    /// - Throws: `.exitedEarly` when the child ended first (naming its status), `.timedOut`.
    public func waitUntilWorkersStarted(timeout: Duration = .seconds(5)) throws(WorkloadError) {
        let prefix = "wl-\(spec.kind.rawValue)-"
        let deadline = monotonicNanos() &+ Self.nanos(timeout)
        while true {
            if ProcFS.threadNames(pid: pid).filter({ $0.hasPrefix(prefix) }).count >= spec.threads { return }
            if !isRunning {
                throw WorkloadError(
                    .exitedEarly, "workload \(pid) (\(executable)) \(exitStatus ?? .unknown) before its \(spec.threads) worker threads started",
                    path: executable)
            }
            if monotonicNanos() >= deadline {
                throw WorkloadError(
                    .timedOut, "workload \(pid): its \(spec.threads) \(prefix)* threads did not all appear in /proc/\(pid)/task within \(timeout)")
            }
            sleepUntil(monotonic: monotonicNanos() + 2_000_000)
        }
    }

    /// Polls `cgroup.procs` until the pid shows; the child's own exit or the timeout end the wait.
    private func waitUntilJoined(timeout: Duration) throws(WorkloadError) {
        let procs = cgroup.file("cgroup.procs")
        let deadline = monotonicNanos() &+ Self.nanos(timeout)
        while true {
            // Membership first: a child that joined and then exited still joined.
            if (try? cgroup.pids())?.contains(pid) == true { return }
            if !isRunning {
                throw WorkloadError(
                    .cgroupJoinFailed, "workload \(pid) \(exitStatus ?? .unknown) before joining \(procs) (its standard error says why)",
                    path: procs)
            }
            if monotonicNanos() >= deadline {
                let ended = stop(gracePeriod: .zero)
                throw WorkloadError(
                    .timedOut, "workload \(pid) did not show in \(procs) within \(timeout); killed (\(ended))",
                    path: procs)
            }
            sleepUntil(monotonic: monotonicNanos() + 2_000_000)
        }
    }

    /// `/proc/self/...` names the shell once the shell runs; name this process explicitly instead.
    static func resolve(_ executable: String) -> String {
        guard executable.hasPrefix("/proc/self/") else { return executable }
        return "/proc/\(getpid())/" + executable.dropFirst("/proc/self/".count)
    }

    private static func nanos(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
