import Foundation
import Logging

/// The Kubernetes API over libcurl: builds URLs, authenticates, retries what is worth retrying,
/// turns failures into ``KubernetesError``. Thread-safe; share one per process.
///
/// ```swift
/// let client = APIClient(configuration: try .resolve(kubeconfig: nil))
/// let pod = try await client.resources(Pod.self, namespace: "default").get("web")
/// ```
public final class APIClient: Sendable {
    /// Where and how to connect.
    public let configuration: ClusterConfiguration
    /// Retries for 429, 5xx and transport failures.
    public let retry: RetryPolicy
    /// The timeout of every request (watches use their own, longer one).
    public let requestTimeout: Duration
    let transport: CurlTransport
    let logger: Logger
    private let userAgent: String

    /// Creates a client.
    public init(configuration: ClusterConfiguration, retry: RetryPolicy = RetryPolicy(), requestTimeout: Duration = .seconds(30),
                userAgent: String = "mbcas", logger: Logger = Logger(label: "mbcas.kubernetes")) {
        self.configuration = configuration
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.transport = CurlTransport(tls: configuration.tls)
        self.userAgent = userAgent
        self.logger = logger
    }

    /// Typed access to one resource type, namespaced (`namespace` set) or across all namespaces.
    public func resources<R: KubernetesResource>(_ type: R.Type, namespace: String? = nil) -> ResourceClient<R> {
        ResourceClient(client: self, namespace: namespace)
    }

    /// The request for `method path?query`, with authentication and content headers.
    func request(_ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
                 contentType: String = "application/json", timeout: Duration? = nil) throws(KubernetesError) -> HTTPRequest {
        var url = configuration.server + path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        // An empty Expect stops libcurl from waiting for "100 Continue" before sending a body.
        var headers = ["Accept": "application/json", "User-Agent": userAgent, "Expect": ""]
        if body != nil { headers["Content-Type"] = contentType }
        if let token = try configuration.token?.current() { headers["Authorization"] = "Bearer \(token)" }
        return HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout ?? requestTimeout)
    }

    /// Sends a request, retrying 429/5xx/transport failures per ``retry`` (honouring
    /// `Retry-After`) and a 401 once with a re-read token; returns a 2xx response.
    /// - Throws: ``KubernetesError``: the last failure once retries are spent, or at once for
    ///   failures retrying cannot fix (404, 409, 410, 422, ...).
    func send(_ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
              contentType: String = "application/json") async throws(KubernetesError) -> HTTPResponse {
        var attempt = 1
        var reauthenticated = false
        while true {
            let request = try request(method, path, query: query, body: body, contentType: contentType)
            let failure: KubernetesError
            do {
                let response = try await transport.perform(request)
                if (200..<300).contains(response.status) { return response }
                failure = KubernetesError(response: response, request: request)
            } catch {
                failure = error
            }
            if failure.httpStatus == 401, !reauthenticated, let token = configuration.token {
                token.invalidate()  // the token may have rotated under us
                reauthenticated = true
                continue
            }
            guard failure.isRetryable, attempt < retry.maxAttempts, !Task.isCancelled else { throw failure }
            let delay = retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter)
            logger.debug("retrying API request", metadata: [
                "method": "\(method)", "path": "\(path)", "attempt": "\(attempt)", "delay": "\(delay)", "error": "\(failure.message)",
            ])
            do { try await Task.sleep(for: delay) } catch { throw failure }
            attempt += 1
        }
    }

    /// Decodes a response body.
    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, _ what: String) throws(KubernetesError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch let error as DecodingError {
            throw KubernetesError(.decoding, "\(what): unexpected response body: \(error.shortDescription)")
        } catch {
            throw KubernetesError(.decoding, "\(what): unexpected response body: \(error)")
        }
    }

    /// Encodes a request body.
    public func encode<T: Encodable>(_ value: T) throws(KubernetesError) -> [UInt8] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(value))
        } catch {
            throw KubernetesError(.decoding, "cannot encode \(T.self): \(error)")
        }
    }

    /// RFC 3986 unreserved characters pass; everything else (`=`, `,`, `!` in selectors) is escaped.
    static func percentEncoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
