public import SystemPackage

/// An error with a code to switch on, a message for people naming the field, path, permission,
/// kernel feature or API to fix, the file concerned when there is one, and the kernel's `Errno`
/// when a system call failed (kept typed, not only formatted into the message).
///
/// Each module names its codes: `AgentError` is `ServiceError<AgentErrorCode>`, `ControllerError`
/// `ServiceError<ControllerErrorCode>`, `ProbeError` `ServiceError<ProbeErrorCode>`, `CgroupError`
/// `ServiceError<CgroupErrorCode>`.
public struct ServiceError<Code: Hashable & Sendable>: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public var code: Code
    /// What happened and what to do, for people.
    public var message: String
    /// The file or directory concerned, when there is one (a cgroup file, a saved verifier log).
    public var path: String?
    /// The kernel's error number, when a system call failed.
    public var errno: Errno?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    public var description: String { message }
}
