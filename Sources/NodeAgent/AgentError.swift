public import ServiceErrors

/// Why the agent could not start, or what went wrong while it ran (a cgroup write's `errno` kept).
public typealias AgentError = ServiceError<AgentErrorCode>

/// The kinds of ``AgentError``.
public enum AgentErrorCode: String, Sendable, Hashable {
    /// The configuration file or a flag is invalid; the message names the field.
    case invalidConfiguration
    /// The parent cgroup does not exist or is not in the cpu hierarchy.
    case invalidCgroupParent
    /// A cgroup file could not be written; the message has the path and errno.
    case actuationFailed
}
