import CCurl
import Foundation
import Synchronization

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
    /// The whole request must finish within this (every request has a timeout; a watch's
    /// server-side `timeoutSeconds` ends it earlier).
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
    /// The body (for a streamed 2xx response: empty, the chunks went to the handler).
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// How the transport authenticates the server and itself. TLS is always verified unless
/// `insecureSkipTLSVerify`, which only an explicit kubeconfig setting turns on.
public struct TLSOptions: Sendable, Equatable {
    /// CA bundle file, or in-memory PEM (kubeconfig `certificate-authority-data`).
    public var caFile: String?
    public var caPEM: [UInt8]?
    /// Client certificate and key: files, or in-memory PEM (`client-certificate-data`).
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// Skips server certificate verification.
    public var insecureSkipTLSVerify: Bool

    /// Creates options; all empty verifies against the system's CA store.
    public init(caFile: String? = nil, caPEM: [UInt8]? = nil, clientCertificateFile: String? = nil,
                clientKeyFile: String? = nil, clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil,
                insecureSkipTLSVerify: Bool = false) {
        self.caFile = caFile
        self.caPEM = caPEM
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }
}

/// Plain HTTP(S) over libcurl's easy interface, which blocks: whole requests run on a global
/// dispatch queue and streams (watches) on a thread of their own, never on the caller's thread,
/// so a slow API server never holds up the agent's ring-buffer thread.
///
/// Connections are reused: whole requests take an idle easy handle from a pool shared by every
/// copy of the transport (an easy handle keeps its connections alive, with their TLS sessions,
/// between transfers), so a stream of requests costs one TCP and TLS handshake, not one each.
/// HTTPS negotiates HTTP/2 when the server offers it (ALPN), HTTP/1.1 keep-alive otherwise.
/// Watches get a handle of their own (they hold their connection for minutes).
public struct CurlTransport: Sendable {
    /// Certificates and verification.
    public var tls: TLSOptions
    private let pool: HandlePool?

    /// Creates a transport. `reuseConnections` false opens a connection per request (the
    /// baseline the benchmark compares with).
    public init(tls: TLSOptions, reuseConnections: Bool = true) {
        self.tls = tls
        pool = reuseConnections ? HandlePool() : nil
        _ = CurlTransport.globalInit
    }

    /// Creates a transport that verifies the server with `caFile` (or skips verification).
    public init(caFile: String? = nil, insecureSkipTLSVerify: Bool = false) {
        self.init(tls: TLSOptions(caFile: caFile, insecureSkipTLSVerify: insecureSkipTLSVerify))
    }

    /// curl_global_init, once per process.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Performs a request and returns the whole response.
    /// - Throws: ``KubernetesError`` with code `transport` when no HTTP response came back
    ///   (connection refused, timeout, TLS failure), naming the URL and libcurl's reason.
    public func perform(_ request: HTTPRequest) async throws(KubernetesError) -> HTTPResponse {
        let transport = self
        let result: Result<HTTPResponse, KubernetesError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: transport.run(request, sink: CurlSink(onChunk: nil)))
            }
        }
        return try result.get()
    }

    /// Performs a request whose 2xx body is a stream (a watch): each chunk goes to `onChunk` as
    /// it arrives, on the transfer's own thread; `onChunk` returns false to stop the transfer.
    /// A non-2xx body is collected and returned whole, for its `Status`. Cancelling the calling
    /// task stops the transfer within about a second (libcurl's progress callback).
    public func stream(_ request: HTTPRequest,
                       onChunk: @escaping @Sendable ([UInt8]) -> Bool) async throws(KubernetesError) -> HTTPResponse {
        let transport = self
        let sink = CurlSink(onChunk: onChunk)
        let result: Result<HTTPResponse, KubernetesError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: transport.run(request, sink: sink)) }
                thread.name = "mbcas-watch"
                thread.start()
            }
        } onCancel: {
            sink.cancelled.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    private func run(_ request: HTTPRequest, sink: CurlSink) -> Result<HTTPResponse, KubernetesError> {
        let pooled = sink.onChunk == nil ? pool : nil
        guard let handle = pooled?.take() ?? curl_easy_init() else {
            return .failure(KubernetesError(.transport, "libcurl could not create a handle for \(request.method) \(request.url)"))
        }
        defer {
            if let pooled { pooled.give(handle) } else { curl_easy_cleanup(handle) }
        }
        sink.handle = handle
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }

        let body = request.body ?? []
        let code: CURLcode = body.withUnsafeBytes { bodyBytes in
            var setup = CurlSetup(handle: handle)
            setup.string(CURLOPT_URL, request.url)
            setup.string(CURLOPT_CUSTOMREQUEST, request.method)
            if request.body != nil {
                setup.pointer(CURLOPT_POSTFIELDS, bodyBytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1))
                setup.check(mbcas_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            }
            setup.pointer(CURLOPT_HTTPHEADER, headerList)
            setup.long(CURLOPT_TIMEOUT_MS, Int(max(1, request.timeout.milliseconds)))
            setup.long(CURLOPT_CONNECTTIMEOUT_MS, 10_000)
            setup.long(CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM
            setup.long(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
            setup.long(CURLOPT_TCP_KEEPALIVE, 1)
            setup.tls(tls)
            sink.install(on: &setup)
            return setup.result == CURLE_OK ? curl_easy_perform(handle) : setup.result
        }
        var status = 0
        _ = mbcas_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        // A stream stopped on purpose (handler said stop, or the task was cancelled) is not an error.
        let stoppedOnPurpose = (code == CURLE_WRITE_ERROR || code == CURLE_ABORTED_BY_CALLBACK) && sink.stopped
        guard code == CURLE_OK || stoppedOnPurpose else {
            let reason = String(cString: curl_easy_strerror(code))
            return .failure(KubernetesError(.transport, "\(request.method) \(request.url): \(reason)"))
        }
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }
}

/// Idle easy handles, each with its live connections; at most `capacity` are kept (as many as
/// requests ever run at once, in practice a few).
private final class HandlePool: Sendable {
    /// An easy handle, used by one transfer at a time (the pool hands each to one taker).
    private struct Handle: @unchecked Sendable { let pointer: UnsafeMutableRawPointer }
    private let idle = Mutex<[Handle]>([])
    private let capacity = 16

    func take() -> UnsafeMutableRawPointer? {
        idle.withLock { $0.popLast()?.pointer }
    }

    /// Returns a handle after a transfer: its options are reset (the next request sets its
    /// own), its connection and TLS session caches stay.
    func give(_ pointer: UnsafeMutableRawPointer) {
        curl_easy_reset(pointer)
        let handle = Handle(pointer: pointer)
        let kept = idle.withLock { handles -> Bool in
            guard handles.count < capacity else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(pointer) }
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }
}

/// Sets options one after another, keeping the first failure.
private struct CurlSetup {
    let handle: UnsafeMutableRawPointer
    var result = CURLE_OK

    mutating func check(_ code: CURLcode) {
        if result == CURLE_OK { result = code }
    }
    mutating func long(_ option: CURLoption, _ value: Int) { check(mbcas_curl_setopt_long(handle, option, value)) }
    mutating func pointer(_ option: CURLoption, _ value: UnsafeRawPointer?) { check(mbcas_curl_setopt_ptr(handle, option, value)) }
    mutating func string(_ option: CURLoption, _ value: String) {
        // libcurl copies string options (since 7.17), so the C string need not outlive the call.
        check(value.withCString { mbcas_curl_setopt_ptr(handle, option, $0) })
    }
    mutating func blob(_ option: CURLoption, _ bytes: [UInt8]) {
        check(bytes.withUnsafeBytes { mbcas_curl_setopt_blob(handle, option, $0.baseAddress, $0.count) })
    }

    mutating func tls(_ tls: TLSOptions) {
        if let file = tls.caFile { string(CURLOPT_CAINFO, file) }
        if let pem = tls.caPEM { blob(CURLOPT_CAINFO_BLOB, pem) }
        if let file = tls.clientCertificateFile { string(CURLOPT_SSLCERT, file) }
        if let file = tls.clientKeyFile { string(CURLOPT_SSLKEY, file) }
        if let pem = tls.clientCertificatePEM { blob(CURLOPT_SSLCERT_BLOB, pem) }
        if let pem = tls.clientKeyPEM { blob(CURLOPT_SSLKEY_BLOB, pem) }
        if tls.insecureSkipTLSVerify {
            long(CURLOPT_SSL_VERIFYPEER, 0)
            long(CURLOPT_SSL_VERIFYHOST, 0)
        }
    }
}

/// Collects what libcurl's callbacks deliver; used only from the transfer's thread, except
/// `cancelled`, which any thread may set.
private final class CurlSink: @unchecked Sendable {
    let onChunk: (@Sendable ([UInt8]) -> Bool)?
    let cancelled = Atomic<Bool>(false)
    var handle: UnsafeMutableRawPointer?
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    /// The transfer was stopped by the handler or by cancellation.
    var stopped = false

    init(onChunk: (@Sendable ([UInt8]) -> Bool)?) {
        self.onChunk = onChunk
    }

    /// Whether this response's body streams to the handler: only a 2xx one does.
    private var streaming: Bool {
        guard onChunk != nil, let handle else { return false }
        var status = 0
        _ = mbcas_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return (200..<300).contains(status)
    }

    func write(_ data: UnsafeRawBufferPointer) -> Bool {
        if cancelled.load(ordering: .relaxed) {
            stopped = true
            return false
        }
        if streaming, let onChunk {
            if !onChunk(Array(data)) {
                stopped = true
                return false
            }
        } else {
            body.append(contentsOf: data)
        }
        return true
    }

    func header(_ line: String) {
        // A new status line (redirects, 100-continue) starts a new header block.
        if line.hasPrefix("HTTP/") { headers = [:] }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func install(on setup: inout CurlSetup) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        setup.check(mbcas_curl_setopt_write(setup.handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            let sink = Unmanaged<CurlSink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            guard let data else { return n }
            return sink.write(UnsafeRawBufferPointer(start: data, count: n)) ? n : 0
        }))
        setup.pointer(CURLOPT_WRITEDATA, context)
        setup.check(mbcas_curl_setopt_write(setup.handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            let sink = Unmanaged<CurlSink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if let data { sink.header(String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)) }
            return n
        }))
        setup.pointer(CURLOPT_HEADERDATA, context)
        guard onChunk != nil else { return }
        // Streams can sit idle for long; the progress callback (about once a second) notices
        // cancellation even when no bytes arrive.
        setup.check(mbcas_curl_setopt_xferinfo(setup.handle, { context, _, _, _, _ in
            let sink = Unmanaged<CurlSink>.fromOpaque(context!).takeUnretainedValue()
            guard sink.cancelled.load(ordering: .relaxed) else { return 0 }
            sink.stopped = true
            return 1
        }))
        setup.pointer(CURLOPT_XFERINFODATA, context)
        setup.long(CURLOPT_NOPROGRESS, 0)
    }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
