/// An API error, rendered as the `Status` object the real API server sends, so that clients'
/// error decoding (`reason`, `code`, `details.causes`) is exercised as in production.
public struct StatusError: Error, Sendable, Equatable {
    /// The HTTP status code, also `Status.code`.
    public var code: Int
    /// `Status.reason`, e.g. `NotFound`.
    public var reason: String
    /// `Status.message`, phrased as the real server phrases it.
    public var message: String
    /// `Status.details`, when the real server sets them.
    public var details: JSON?
    /// Extra response headers (e.g. `Retry-After`).
    public var headers: [(String, String)] = []

    public static func == (lhs: StatusError, rhs: StatusError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason && lhs.message == rhs.message && lhs.details == rhs.details
    }

    /// The `Status` body.
    public var status: JSON {
        var body: JSON = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "code": .int(Int64(code)),
        ]
        // Empty for plain errors the real server wraps as 500s (omitempty on the wire).
        if !reason.isEmpty { body["reason"] = .string(reason) }
        if let details { body["details"] = details }
        return body
    }

    static func details(_ type: ResourceType, name: String) -> JSON {
        var details: JSON = ["name": .string(name), "kind": .string(type.plural)]
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        return details
    }

    static func notFound(_ type: ResourceType, name: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "\(type.qualifiedPlural) \"\(name)\" not found",
                    details: details(type, name: name))
    }

    static func alreadyExists(_ type: ResourceType, name: String) -> StatusError {
        StatusError(code: 409, reason: "AlreadyExists", message: "\(type.qualifiedPlural) \"\(name)\" already exists",
                    details: details(type, name: name))
    }

    static func conflict(_ type: ResourceType, name: String) -> StatusError {
        StatusError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(type.qualifiedPlural) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
            details: details(type, name: name))
    }

    /// One `details.causes` entry of an Invalid error.
    public struct Cause: Sendable {
        var field: String
        var message: String
        var reason = "FieldValueInvalid"
    }

    static func invalid(_ type: ResourceType, name: String, causes: [Cause]) -> StatusError {
        invalid(kind: type.kind, group: type.group, name: name, causes: causes)
    }

    /// 422 Invalid for any kind, e.g. `PatchOptions` in group `meta.k8s.io` for bad query options.
    static func invalid(kind: String, group: String, name: String, causes: [Cause]) -> StatusError {
        let summary = causes.map { "\($0.field): \($0.message)" }.joined(separator: ", ")
        var details: JSON = ["name": .string(name), "kind": .string(kind)]
        if !group.isEmpty { details["group"] = .string(group) }
        details["causes"] = .array(causes.map {
            ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)]
        })
        let qualified = group.isEmpty ? kind : "\(kind).\(group)"
        return StatusError(code: 422, reason: "Invalid", message: "\(qualified) \"\(name)\" is invalid: \(summary)",
                           details: details)
    }

    static func expired(_ message: String) -> StatusError {
        StatusError(code: 410, reason: "Expired", message: message)
    }

    static func badRequest(_ message: String) -> StatusError {
        StatusError(code: 400, reason: "BadRequest", message: message)
    }

    static func methodNotAllowed(_ method: String) -> StatusError {
        StatusError(code: 405, reason: "MethodNotAllowed",
                    message: "the server does not allow this method on the requested resource")
    }

    /// 415 for a `Content-Type` the resource does not take as a patch; the accepted list is the
    /// real server's (strategic merge only for built-in types).
    static func unsupportedMediaType(_ type: ResourceType) -> StatusError {
        var accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if type.isBuiltIn { accepted.append("application/strategic-merge-patch+json") }
        return StatusError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - accepted media types include: \(accepted.joined(separator: ", "))")
    }

    static let pathNotFound = StatusError(code: 404, reason: "NotFound",
                                          message: "the server could not find the requested resource",
                                          details: [:])
}
