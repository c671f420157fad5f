public import SystemPackage

/// Why the agent could not start, or what went wrong while it ran.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// The configuration file or a flag is invalid; the message names the field.
        case invalidConfiguration
        /// The parent cgroup does not exist or is not in the cpu hierarchy.
        case invalidCgroupParent
        /// A cgroup file could not be written; the message has the path and errno.
        case actuationFailed
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, for people.
    public let message: String
    /// The kernel's error number, when a system call failed (a cgroup file write or read).
    public let errno: Errno?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
