import Synchronization

/// Bearer-token authentication, off by default. Once tokens are set, a request without one of
/// them gets 401 Unauthorized, as the real server answers an unknown or expired token; tests
/// rotate the accepted set to play a service-account token rotation.
public final class TokenAuthenticator: Sendable {
    private let accepted = Mutex<Set<String>?>(nil)

    init() {}

    /// Accepts exactly these tokens from now on; nil turns authentication off.
    public func accept(_ tokens: Set<String>?) {
        accepted.withLock { $0 = tokens }
    }

    /// The 401 for a request with this `Authorization` header, or nil if it may pass.
    func check(_ authorization: String?) -> StatusError? {
        guard let tokens = accepted.withLock({ $0 }) else { return nil }
        if let authorization, authorization.hasPrefix("Bearer "), tokens.contains(String(authorization.dropFirst(7))) {
            return nil
        }
        return StatusError(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }
}
