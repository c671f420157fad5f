internal import Glibc
internal import SystemPackage

/// How a child process ended.
public enum WorkloadExit: Sendable, Hashable, CustomStringConvertible {
    /// It called `exit` with this status (0 after a stop by SIGTERM: the runner ends cleanly).
    case exited(Int32)
    /// A signal killed it (SIGKILL when it ignored SIGTERM for the grace period).
    case signaled(Int32)
    /// Someone else reaped it (`waitpid` said `ECHILD`), so the status is lost.
    case unknown

    /// `exited 0`, `killed by signal 9`, `unknown`.
    public var description: String {
        switch self {
        case .exited(let status): "exited \(status)"
        case .signaled(let signal): "killed by signal \(signal)"
        case .unknown: "unknown"
        }
    }

    /// Decodes a `waitpid` status (the `WIFEXITED`/`WTERMSIG` macros are not imported into Swift).
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }
}

/// `posix_spawn` and `waitpid`, with the few settings a workload child needs.
enum ChildProcess {
    /// Starts `arguments[0]` (an absolute path) with `arguments`, the parent's environment, standard
    /// input and output on `/dev/null`, standard error inherited, no other inherited descriptors, an
    /// empty signal mask and default signal dispositions.
    ///
    /// Why each: a workload's output would clutter the demo's screen, but its errors belong there;
    /// descriptors the agent holds (BPF maps, sockets) must not be kept alive by a child; and a
    /// parent that ignores or blocks SIGTERM (as the agent does while it waits for signals) would
    /// otherwise pass that on through `exec`, and the child could not be stopped politely.
    static func spawn(_ arguments: [String]) throws(WorkloadError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        // glibc ignores close actions on descriptors closed meanwhile, so a stale listing is harmless.
        for fd in openDescriptors() where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else {
            let errno = Errno(rawValue: result)
            throw WorkloadError(
                .startFailed, "posix_spawn \(arguments[0]): \(errno) (errno \(result))",
                path: arguments[0], errno: errno)
        }
        return pid
    }

    /// The child's status if it has ended (reaping it), nil while it runs.
    static func poll(_ pid: Int32) -> WorkloadExit? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return WorkloadExit(waitStatus: status) }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return .unknown  // ECHILD: reaped by someone else, so it has ended
        }
    }

    /// Waits for the child to end and reaps it.
    static func wait(_ pid: Int32) -> WorkloadExit {
        var status: Int32 = 0
        while true {
            if waitpid(pid, &status, 0) == pid { return WorkloadExit(waitStatus: status) }
            if errno != EINTR { return .unknown }
        }
    }

    /// This process's open descriptors, from `/proc/self/fd` (the listing's own descriptor included).
    private static func openDescriptors() -> [Int32] {
        ProcFS.entries(of: "/proc/self/fd").compactMap { Int32($0) }
    }
}
