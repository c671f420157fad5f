public import ServiceErrors

/// Why the controller cannot start or go on: a bad setting, a missing permission, a missing
/// CustomResourceDefinition, an API server that cannot be reached. The message names the thing
/// to fix.
public typealias ControllerError = ServiceError<ControllerErrorCode>

/// The kinds of ``ControllerError``.
public enum ControllerErrorCode: String, Sendable, Hashable {
    /// A configuration value is out of range.
    case configuration
    /// The service account lacks a permission (401/403).
    case permission
    /// The API does not serve something the controller needs (the PodAllocation CRD).
    case missingAPI
    /// The API server could not be reached or answered with an unexpected failure.
    case unavailable
}
