import Foundation
import Synchronization

/// Where the API server is and how to authenticate to it: from the pod's service account
/// (in-cluster) or from a kubeconfig file (outside a cluster).
public struct ClusterConfiguration: Sendable {
    /// `https://host:port` (or `http://` for the loopback test server), no trailing slash.
    public var server: String
    /// Certificates and verification.
    public var tls: TLSOptions
    /// The bearer token, if any: fixed, or re-read from a file (service-account tokens rotate).
    public var token: TokenSource?
    /// The namespace of the context (kubeconfig) or of the pod (in-cluster), if known.
    public var namespace: String?
    /// Where this configuration came from, for log lines and errors.
    public var origin: String

    /// Creates a configuration.
    public init(server: String, tls: TLSOptions = TLSOptions(), token: TokenSource? = nil,
                namespace: String? = nil, origin: String = "explicit") {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.tls = tls
        self.token = token
        self.namespace = namespace
        self.origin = origin
    }

    /// The service-account files every pod gets.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In-cluster: `KUBERNETES_SERVICE_HOST`/`_PORT`, the service-account token (re-read as it
    /// rotates), its CA bundle and namespace.
    /// - Throws: ``KubernetesError`` naming the missing variable or file.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = serviceAccountDirectory) throws(KubernetesError) -> ClusterConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubernetesError(.configuration, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (use --kubeconfig outside a cluster)")
        }
        let tokenPath = "\(directory)/token"
        let caPath = "\(directory)/ca.crt"
        for path in [tokenPath, caPath] where !FileManager.default.isReadableFile(atPath: path) {
            throw KubernetesError(.configuration, "in-cluster configuration: cannot read \(path) (is a service account token mounted?)")
        }
        let namespace = (try? String(contentsOfFile: "\(directory)/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // An IPv6 service address needs brackets in a URL.
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return ClusterConfiguration(server: "https://\(hostPart):\(port)", tls: TLSOptions(caFile: caPath),
                                    token: TokenSource(file: tokenPath), namespace: namespace, origin: "in-cluster service account")
    }

    /// What a command-line tool does: an explicit kubeconfig path wins; otherwise in-cluster
    /// when `KUBERNETES_SERVICE_HOST` is set; otherwise `$KUBECONFIG` (first file) or
    /// `~/.kube/config`.
    public static func resolve(kubeconfig path: String?, context: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(KubernetesError) -> ClusterConfiguration {
        if let path { return try Kubeconfig.load(path: path).configuration(context: context) }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        let fallback = environment["KUBECONFIG"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? "\(environment["HOME"] ?? NSHomeDirectory())/.kube/config"
        return try Kubeconfig.load(path: fallback).configuration(context: context)
    }
}

/// A bearer token: fixed, or read from a file and re-read when older than `refreshInterval`
/// or when the server says 401 (projected service-account tokens rotate hourly).
public final class TokenSource: Sendable {
    private enum Source: Sendable {
        case fixed(String)
        case file(String)
    }

    private struct Cached: Sendable {
        var token: String
        var readAt: ContinuousClock.Instant
    }

    private let source: Source
    private let refreshInterval: Duration
    private let cached = Mutex<Cached?>(nil)

    /// A token that never changes (kubeconfig `token`).
    public init(token: String) {
        source = .fixed(token)
        refreshInterval = .seconds(0)
    }

    /// A token read from `file`, re-read at most every `refreshInterval` (client-go: 1 minute).
    public init(file: String, refreshInterval: Duration = .seconds(60)) {
        source = .file(file)
        self.refreshInterval = refreshInterval
    }

    /// The token to send now.
    /// - Throws: ``KubernetesError`` when the file cannot be read and no earlier token is known.
    public func current() throws(KubernetesError) -> String {
        switch source {
        case .fixed(let token):
            return token
        case .file(let path):
            let now = ContinuousClock.now
            if let cached = cached.withLock({ $0 }), now - cached.readAt < refreshInterval { return cached.token }
            do {
                let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                cached.withLock { $0 = Cached(token: token, readAt: now) }
                return token
            } catch {
                // Keep using the last token while the file is briefly missing (kubelet swaps it by symlink).
                if let last = cached.withLock({ $0 }) { return last.token }
                throw KubernetesError(.configuration, "cannot read the bearer token file \(path): \(error.localizedDescription)")
            }
        }
    }

    /// Forgets the cached token, so the next request re-reads the file (after a 401).
    public func invalidate() {
        cached.withLock { $0 = nil }
    }
}
