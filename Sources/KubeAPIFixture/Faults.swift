import Synchronization

/// Injected failures for client tests: the next N requests to a path answer with an error
/// instead of being served (the store is not touched).
public final class FaultInjector: Sendable {
    /// What an injected failure answers.
    public enum Fault: Sendable, Equatable {
        /// 429 TooManyRequests with `Retry-After: <seconds>`, as API priority and fairness does.
        case tooManyRequests(retryAfterSeconds: Int)
        /// 500 InternalError.
        case internalError
        /// 503 ServiceUnavailable.
        case serviceUnavailable
    }

    private let pending = Mutex<[String: (fault: Fault, remaining: Int)]>([:])

    /// Makes the next `count` requests whose path (without query) equals `path` fail.
    public func inject(_ fault: Fault, path: String, count: Int = 1) {
        pending.withLock { $0[path] = (fault, count) }
    }

    /// Takes one failure for `path`, if one is pending.
    func take(path: String) -> StatusError? {
        let fault: Fault? = pending.withLock { pending in
            guard let entry = pending[path], entry.remaining > 0 else { return nil }
            pending[path] = entry.remaining > 1 ? (entry.fault, entry.remaining - 1) : nil
            return entry.fault
        }
        switch fault {
        case .none: return nil
        case .tooManyRequests(let seconds):
            var error = StatusError(code: 429, reason: "TooManyRequests", message: "too many requests, please try again later",
                                    details: ["retryAfterSeconds": .int(Int64(seconds))])
            error.headers = [("Retry-After", String(seconds))]
            return error
        case .internalError:
            return StatusError(code: 500, reason: "InternalError", message: "Internal error occurred: injected fault")
        case .serviceUnavailable:
            return StatusError(code: 503, reason: "ServiceUnavailable", message: "the server is currently unable to handle the request")
        }
    }
}
