import Foundation
import Yams

/// A kubeconfig file (the subset a node agent or controller needs outside a cluster): clusters,
/// users with a token, token file or client certificate, contexts and `current-context`.
/// `exec` and `auth-provider` plugins are refused with a message naming them.
public struct Kubeconfig: Decodable, Sendable {
    struct Named<Value: Decodable & Sendable>: Decodable, Sendable {
        var name: String
        var value: Value

        private enum CodingKeys: String, CodingKey { case name, cluster, user, context }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            for key in [CodingKeys.cluster, .user, .context] where container.contains(key) {
                value = try container.decode(Value.self, forKey: key)
                return
            }
            throw DecodingError.keyNotFound(CodingKeys.cluster, .init(codingPath: container.codingPath,
                                                                     debugDescription: "entry '\(name)' has no cluster, user or context"))
        }
    }

    struct Cluster: Decodable, Sendable {
        var server: String
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        private enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct User: Decodable, Sendable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientKey: String?
        var clientCertificateData: String?
        var clientKeyData: String?
        var exec: Present?
        var authProvider: Present?

        private enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec
            case clientCertificate = "client-certificate"
            case clientKey = "client-key"
            case clientCertificateData = "client-certificate-data"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    struct Context: Decodable, Sendable {
        var cluster: String
        var user: String?
        var namespace: String?
    }

    var clusters: [Named<Cluster>]
    var users: [Named<User>]?
    var contexts: [Named<Context>]
    var currentContext: String?
    /// The file's directory: relative paths inside a kubeconfig are relative to it.
    var directory: String = "."

    private enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }

    /// Reads and parses a kubeconfig file.
    /// - Throws: ``KubernetesError`` (`.configuration`) naming the file and what is wrong.
    public static func load(path: String) throws(KubernetesError) -> Kubeconfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubernetesError(.configuration, "cannot read kubeconfig \(path): \(error.localizedDescription)")
        }
        var config = try parse(text, source: path)
        config.directory = (path as NSString).deletingLastPathComponent
        return config
    }

    /// Parses kubeconfig YAML.
    public static func parse(_ yaml: String, source: String = "kubeconfig") throws(KubernetesError) -> Kubeconfig {
        do {
            return try YAMLDecoder().decode(Kubeconfig.self, from: yaml)
        } catch let error as DecodingError {
            throw KubernetesError(.configuration, "\(source) is not a valid kubeconfig: \(error.shortDescription)")
        } catch {
            throw KubernetesError(.configuration, "\(source) is not valid YAML: \(error)")
        }
    }

    /// The configuration of `context` (default: `current-context`).
    public func configuration(context name: String? = nil) throws(KubernetesError) -> ClusterConfiguration {
        guard let contextName = name ?? currentContext else {
            throw KubernetesError(.configuration, "the kubeconfig has no current-context; pass a context")
        }
        guard let context = contexts.first(where: { $0.name == contextName })?.value else {
            throw KubernetesError(.configuration, "the kubeconfig has no context '\(contextName)' (it has: \(contexts.map(\.name).joined(separator: ", ")))")
        }
        guard let cluster = clusters.first(where: { $0.name == context.cluster })?.value else {
            throw KubernetesError(.configuration, "context '\(contextName)' names cluster '\(context.cluster)', which the kubeconfig does not define")
        }
        var user = User()
        if let userName = context.user {
            guard let found = users?.first(where: { $0.name == userName })?.value else {
                throw KubernetesError(.configuration, "context '\(contextName)' names user '\(userName)', which the kubeconfig does not define")
            }
            user = found
        }
        if user.exec != nil || user.authProvider != nil {
            throw KubernetesError(.configuration, "user '\(context.user ?? "")' authenticates with an exec or auth-provider plugin, which mbcas does not run; use a token, token file or client certificate")
        }
        var tls = TLSOptions(insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false)
        tls.caFile = cluster.certificateAuthority.map(resolved)
        tls.caPEM = try cluster.certificateAuthorityData.map { data throws(KubernetesError) in try decode(data, field: "certificate-authority-data") }
        tls.clientCertificateFile = user.clientCertificate.map(resolved)
        tls.clientKeyFile = user.clientKey.map(resolved)
        tls.clientCertificatePEM = try user.clientCertificateData.map { data throws(KubernetesError) in try decode(data, field: "client-certificate-data") }
        tls.clientKeyPEM = try user.clientKeyData.map { data throws(KubernetesError) in try decode(data, field: "client-key-data") }
        let token = user.token.map { TokenSource(token: $0) } ?? user.tokenFile.map { TokenSource(file: resolved($0)) }
        return ClusterConfiguration(server: cluster.server, tls: tls, token: token, namespace: context.namespace,
                                    origin: "kubeconfig context \(contextName)")
    }

    private func resolved(_ path: String) -> String {
        path.hasPrefix("/") ? path : "\(directory)/\(path)"
    }

    private func decode(_ base64: String, field: String) throws(KubernetesError) -> [UInt8] {
        guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
            throw KubernetesError(.configuration, "kubeconfig field \(field) is not valid base64")
        }
        return Array(data)
    }
}

/// A field whose presence matters and whose content does not (plugins mbcas refuses to run).
struct Present: Decodable, Sendable {
    init(from decoder: any Decoder) throws {}
}

extension DecodingError {
    /// The failing field path and the reason, in one line.
    var shortDescription: String {
        func path(_ context: Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue): required field missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
