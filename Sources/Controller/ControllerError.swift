/// Why the controller cannot start or go on: a bad setting, a missing permission, a missing
/// CustomResourceDefinition, an API server that cannot be reached. The message names the thing
/// to fix.
public struct ControllerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// A configuration value is out of range.
        case configuration
        /// The service account lacks a permission (401/403).
        case permission
        /// The API does not serve something the controller needs (the PodAllocation CRD).
        case missingAPI
        /// The API server could not be reached or answered with an unexpected failure.
        case unavailable
    }

    /// The kind of failure.
    public var code: Code
    /// What happened and what to do, for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
