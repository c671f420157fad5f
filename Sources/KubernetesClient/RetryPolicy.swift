/// When and how long to wait before retrying a request the server could not serve now
/// (429, 5xx, no answer): exponential backoff with full jitter, or the server's `Retry-After`.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The first backoff's upper bound; doubles each attempt.
    public var initialBackoff: Duration
    /// No backoff is longer than this.
    public var maxBackoff: Duration
    /// A `Retry-After` longer than this is cut to it.
    public var maxRetryAfter: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 6, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(10),
                maxRetryAfter: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// Never retries (tests of error paths).
    public static let none = RetryPolicy(maxAttempts: 1)

    /// How long to wait before attempt `attempt + 1` (attempt counts from 1). The server's
    /// `Retry-After` is honoured as given (bounded); otherwise a uniformly random time in
    /// [0, min(maxBackoff, initialBackoff · 2^(attempt-1))] (full jitter: retries from many
    /// clients spread out instead of arriving together).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, maxRetryAfter) }
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maxBackoff, initialBackoff * (1 << exponent))
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(nanos, 0)))
    }
}
