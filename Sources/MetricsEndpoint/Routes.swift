internal import NIOHTTP1
internal import Prometheus

/// A response, decided before anything is written so that the handler writes head, body and end
/// in one go and the event loop never waits on the agent.
struct Response {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    var extraHeaders: [(String, String)] = []
}

/// Which path serves what. Pure: no I/O, no channel, so the rules read in one place.
struct Routes: Sendable {
    /// The Prometheus text exposition format, version 0.0.4.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let jsonContentType = "application/json"
    static let textContentType = "text/plain; charset=utf-8"

    let registry: PrometheusCollectorRegistry
    let liveness: @Sendable () -> HealthReport
    let readiness: @Sendable () -> HealthReport

    func response(method: HTTPMethod, uri: String) -> Response {
        // Every path is read-only, so the method is checked before the path: a POST anywhere is
        // refused the same way, and scrapers with a wrong method get a 405 rather than a
        // misleading 404.
        guard method == .GET else {
            return Response(
                status: .methodNotAllowed,
                contentType: Self.textContentType,
                body: Array("method not allowed\n".utf8),
                extraHeaders: [("allow", "GET")]
            )
        }
        switch Self.path(of: uri) {
        case "/metrics":
            return Response(status: .ok, contentType: Self.metricsContentType, body: registry.emitToBuffer())
        case "/healthz":
            return Self.health(liveness())
        case "/readyz":
            return Self.health(readiness())
        default:
            return Response(status: .notFound, contentType: Self.textContentType, body: Array("not found\n".utf8))
        }
    }

    /// The path without its query: Prometheus may add `?name[]=...` parameters we ignore.
    static func path(of uri: String) -> Substring {
        uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri[...]
    }

    private static func health(_ report: HealthReport) -> Response {
        Response(
            status: report.healthy ? .ok : .serviceUnavailable,
            contentType: jsonContentType,
            body: report.jsonBody(),
            // Probes must see the state now, never a cached answer from a proxy in between.
            extraHeaders: [("cache-control", "no-store")]
        )
    }
}
