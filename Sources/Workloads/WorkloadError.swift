public import SystemPackage

/// An error from validating, running or launching a workload.
///
/// Every error names what it concerns (the spec field, the executable or cgroup path, the pid) in
/// `message`, so a log line alone is enough to find the culprit.
public struct WorkloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; switch on it, do not parse `message`.
    public enum Code: Sendable, Hashable {
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

    /// What kind of failure this is.
    public var code: Code
    /// The process concerned, when there is one.
    public var pid: Int32?
    /// The file or directory concerned, when there is one.
    public var path: String?
    /// The kernel's error number, when a system call failed (`posix_spawn`, `pthread_create`, `access`).
    public var errno: Errno?
    /// A human-readable description naming the field, path or pid.
    public var message: String

    /// Creates an error.
    public init(code: Code, pid: Int32? = nil, path: String? = nil, errno: Errno? = nil, message: String) {
        self.code = code
        self.pid = pid
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// The message, prefixed with the code, for logs.
    public var description: String { "WorkloadError.\(code): \(message)" }
}
