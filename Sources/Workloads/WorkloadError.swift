public import ServiceErrors

/// An error from validating, running or launching a workload.
///
/// Every error names what it concerns (the spec field, the executable or cgroup path, the pid) in
/// `message`, so a log line alone is enough to find the culprit; `path` holds the file and `errno`
/// the kernel's error number when a system call failed (`posix_spawn`, `pthread_create`, `access`).
public typealias WorkloadError = ServiceError<WorkloadErrorCode>

/// What kind of failure a ``WorkloadError`` is; switch on it, do not parse `message`.
public enum WorkloadErrorCode: String, Sendable, Hashable {
    /// A ``WorkloadSpec`` field is out of range (threads, duration).
    case invalidSpec
    /// The executable is missing or not executable.
    case executableNotFound
    /// `posix_spawn` or `pthread_create` failed.
    case startFailed
    /// The child could not join its cgroup (it exited before its pid showed in `cgroup.procs`).
    case cgroupJoinFailed
    /// The child exited before it reached the state waited for.
    case exitedEarly
    /// The state waited for was not reached in time.
    case timedOut
}
