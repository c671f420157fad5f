import Foundation

/// A failed API call: either no HTTP answer (transport), or the API
/// server's own `Status` (reason, code, message), decoded from the body.
public struct KubernetesError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// No HTTP response: connection refused, timeout, TLS.
        case transport
        /// The server answered with a failure `Status`.
        case status
        /// A body could not be decoded.
        case decoding
    }

    /// The kind of failure.
    public let code: Code
    /// The HTTP status (for `.status`).
    public let httpStatus: Int?
    /// The Status `reason` (NotFound, AlreadyExists, Conflict, Invalid, Expired, TooManyRequests, ...).
    public let reason: String?
    /// What happened, for people.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String, httpStatus: Int? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.reason = reason
    }

    /// Decodes a failure response's `Status` body (falling back to the raw body).
    public init(response: HTTPResponse, request: HTTPRequest) {
        struct Status: Decodable { let message: String?; let reason: String?; let code: Int? }
        let status = try? JSONDecoder().decode(Status.self, from: Data(response.body))
        let text = status?.message ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        self.init(.status, "\(request.method) \(request.url): \(response.status) \(status?.reason ?? ""): \(text)",
                  httpStatus: response.status, reason: status?.reason)
    }

    public var description: String { message }
}
