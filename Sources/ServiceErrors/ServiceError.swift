public import SystemPackage

/// Why a long-running service (the node agent, the controller) could not start or go on: a code to
/// switch on, a message for people naming the field, path, permission or API to fix, and the
/// kernel's `Errno` when a system call failed (kept typed, not only formatted into the message).
///
/// Each service names its codes: `AgentError` is `ServiceError<AgentErrorCode>`, `ControllerError`
/// is `ServiceError<ControllerErrorCode>`.
public struct ServiceError<Code: Hashable & Sendable>: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public var code: Code
    /// What happened and what to do, for people.
    public var message: String
    /// The kernel's error number, when a system call failed.
    public var errno: Errno?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
