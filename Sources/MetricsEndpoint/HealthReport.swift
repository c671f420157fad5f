#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// What a liveness or readiness check found, as `/healthz` and `/readyz` report it.
///
/// The endpoint answers 200 when ``healthy`` is true and 503 otherwise, with the same JSON body
/// either way, so a person running `curl` sees which check failed:
///
/// ```json
/// {"checks":{"last_event_age_seconds":"0.4","ringbuf_consumer":"alive"},"healthy":true}
/// ```
public struct HealthReport: Sendable, Hashable, Codable {
    /// Whether the agent passes this probe.
    public var healthy: Bool
    /// Named findings, e.g. `"ringbuf_consumer": "alive"`. Values are strings so that a check can
    /// report whatever it measured without this type knowing its units.
    public var checks: [String: String]

    /// Creates a report.
    /// - Parameters:
    ///   - healthy: Whether the agent passes this probe.
    ///   - checks: Named findings.
    public init(healthy: Bool, checks: [String: String] = [:]) {
        self.healthy = healthy
        self.checks = checks
    }

    /// The JSON body the endpoint serves: keys sorted so that the output is stable for tests,
    /// diffs and people.
    func jsonBody() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a Bool and a [String: String] cannot fail; the fallback keeps the probe
        // answering rather than crashing the agent if that ever changes.
        guard let data = try? encoder.encode(self) else {
            return Array(#"{"healthy":\#(healthy)}"#.utf8)
        }
        return Array(data)
    }
}
