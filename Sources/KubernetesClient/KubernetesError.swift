import Foundation

/// A failed API call: no HTTP answer (transport), the API server's own `Status` (reason, code,
/// message, decoded from the body), a body that would not decode, or a bad configuration.
public struct KubernetesError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// No HTTP response: connection refused, timeout, TLS.
        case transport
        /// The server answered with a failure `Status`.
        case status
        /// A body could not be decoded.
        case decoding
        /// The kubeconfig or in-cluster files are missing or wrong.
        case configuration
    }

    /// The kind of failure.
    public let code: Code
    /// The HTTP status (for `.status`).
    public let httpStatus: Int?
    /// The Status `reason` (NotFound, AlreadyExists, Conflict, Invalid, Expired, TooManyRequests, ...).
    public let reason: String?
    /// The server's `Retry-After`, when it sent one.
    public let retryAfter: Duration?
    /// What happened, for people.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String, httpStatus: Int? = nil, reason: String? = nil, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.reason = reason
        self.retryAfter = retryAfter
    }

    /// Decodes a failure response's `Status` body (falling back to the raw body).
    public init(response: HTTPResponse, request: HTTPRequest) {
        let status = try? JSONDecoder().decode(APIStatus.self, from: Data(response.body))
        let text = status?.message ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        let retryAfter = response.headers["retry-after"].flatMap(Int.init).map { Duration.seconds($0) }
        self.init(.status, "\(request.method) \(request.url): \(response.status) \(status?.reason ?? ""): \(text)",
                  httpStatus: response.status, reason: status?.reason, retryAfter: retryAfter)
    }

    /// A `Status` that arrived inside a watch stream (an ERROR event).
    init(watchStatus status: APIStatus, url: String) {
        self.init(.status, "watch \(url): \(status.code ?? 0) \(status.reason ?? ""): \(status.message ?? "")",
                  httpStatus: status.code, reason: status.reason)
    }

    /// 404: the object (or its namespace) does not exist.
    public var isNotFound: Bool { httpStatus == 404 }
    /// 409 Conflict on update (stale resourceVersion) or AlreadyExists on create.
    public var isConflict: Bool { httpStatus == 409 && reason != "AlreadyExists" }
    /// 410 Gone / Expired: the resourceVersion is too old; relist.
    public var isExpired: Bool { httpStatus == 410 }
    /// 422 Invalid: the server refused the object; retrying the same request cannot help.
    public var isInvalid: Bool { httpStatus == 422 }
    /// Worth retrying after a pause: 429, 5xx, or no answer at all.
    public var isRetryable: Bool {
        code == .transport || httpStatus == 429 || (httpStatus.map { (500..<600).contains($0) } ?? false)
    }

    public var description: String { message }
}

/// The API's `Status` object (failure bodies, watch ERROR events).
struct APIStatus: Codable, Sendable {
    var message: String?
    var reason: String?
    var code: Int?
}
