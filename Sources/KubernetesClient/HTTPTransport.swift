import CCurl
import Dispatch

/// One HTTP request to the API server.
public struct HTTPRequest: Sendable {
    /// GET, POST, PUT, PATCH, DELETE.
    public var method: String
    /// The full URL.
    public var url: String
    /// Request headers.
    public var headers: [String: String]
    /// The body, if any.
    public var body: [UInt8]?
    /// The whole request must finish within this (every request has a timeout).
    public var timeout: Duration

    /// Creates a request.
    public init(method: String, url: String, headers: [String: String] = [:], body: [UInt8]? = nil,
                timeout: Duration = .seconds(30)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// What came back.
public struct HTTPResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// Response headers, names lower-cased.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]
}

/// Plain HTTP(S) over libcurl. Each request runs on a global dispatch queue
/// (libcurl's easy interface blocks), never on the caller's thread, so a
/// slow API server never holds up the agent's ring-buffer thread.
public struct CurlTransport: Sendable {
    /// TLS: a CA bundle to verify the server with (TLS is always verified
    /// unless `insecureSkipTLSVerify`, which only an explicit kubeconfig sets).
    public var caFile: String?
    /// Skips server certificate verification (kubeconfig `insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify: Bool

    /// Creates a transport.
    public init(caFile: String? = nil, insecureSkipTLSVerify: Bool = false) {
        self.caFile = caFile
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        _ = CurlTransport.globalInit
    }

    /// curl_global_init, once per process.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Performs a request.
    /// - Throws: ``KubernetesError`` with code `transport` when no HTTP response came back
    ///   (connection refused, timeout, TLS failure), naming the URL and libcurl's reason.
    public func perform(_ request: HTTPRequest) async throws(KubernetesError) -> HTTPResponse {
        let transport = self
        let result: Result<HTTPResponse, KubernetesError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: transport.performBlocking(request)) }
        }
        return try result.get()
    }

    /// Collects what libcurl's callbacks deliver.
    private final class Sink {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
    }

    private func performBlocking(_ request: HTTPRequest) -> Result<HTTPResponse, KubernetesError> {
        guard let handle = curl_easy_init() else {
            return .failure(KubernetesError(.transport, "libcurl could not create a handle for \(request.method) \(request.url)"))
        }
        defer { curl_easy_cleanup(handle) }
        let sink = Sink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }

        let timeoutMs = request.timeout.components.seconds * 1000 + request.timeout.components.attoseconds / 1_000_000_000_000_000
        let body = request.body ?? []
        let code: CURLcode = request.url.withCString { url in
            request.method.withCString { method in
                body.withUnsafeBytes { bodyBytes in
                    var rc = mbcas_curl_setopt_ptr(handle, CURLOPT_URL, url)
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, method) : rc
                    if request.body != nil {
                        rc = rc == CURLE_OK ? mbcas_curl_setopt_ptr(handle, CURLOPT_POSTFIELDS, bodyBytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) : rc
                        rc = rc == CURLE_OK ? mbcas_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)) : rc
                    }
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList) : rc
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(max(1, timeoutMs))) : rc
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) : rc  // threads: no SIGALRM
                    if let caFile {
                        rc = rc == CURLE_OK ? caFile.withCString { mbcas_curl_setopt_ptr(handle, CURLOPT_CAINFO, $0) } : rc
                    }
                    if insecureSkipTLSVerify {
                        rc = rc == CURLE_OK ? mbcas_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0) : rc
                        rc = rc == CURLE_OK ? mbcas_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0) : rc
                    }
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
                        let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                        let n = size * count
                        if let data { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n)) }
                        return n
                    }) : rc
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, context) : rc
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_write(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
                        let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                        let n = size * count
                        if let data {
                            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
                            if let colon = line.firstIndex(of: ":") {
                                let name = line[..<colon].lowercased()
                                let value = line[line.index(after: colon)...].trimmingCharacters(in: " \r\n")
                                sink.headers[name] = value
                            }
                        }
                        return n
                    }) : rc
                    rc = rc == CURLE_OK ? mbcas_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, context) : rc
                    return rc == CURLE_OK ? curl_easy_perform(handle) : rc
                }
            }
        }
        guard code == CURLE_OK else {
            let reason = String(cString: curl_easy_strerror(code))
            return .failure(KubernetesError(.transport, "\(request.method) \(request.url): \(reason)"))
        }
        var status = 0
        _ = mbcas_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
