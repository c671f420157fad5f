import Foundation
import KubernetesClient
import TestSupport
import Testing

/// TLS as the transport does it, against `openssl s_server` with a CA made for the test: verified
/// by default, a CA from a file or from kubeconfig `*-data`, client certificates, and
/// `insecure-skip-tls-verify` only when asked.
@Suite("TLS against openssl s_server (make deps installs openssl)", .serialized)
struct TLSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, in a temporary folder.
    final class PKI {
        let directory = NSTemporaryDirectory() + "mbcas-tls-\(UUID().uuidString)"
        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                        "-subj", "/CN=mbcas test CA", "-keyout", "ca.key", "-out", "ca.crt")
            for (name, extensions) in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                                       ("client", "extendedKeyUsage=clientAuth")] {
                try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
                try openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(name)",
                            "-keyout", "\(name).key", "-out", "\(name).csr")
                try openssl("x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                            "-days", "1", "-extfile", "\(name).ext", "-out", "\(name).crt")
            }
        }

        func path(_ name: String) -> String { "\(directory)/\(name)" }
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

        private func openssl(_ arguments: String...) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw KubernetesError(.configuration, "openssl \(arguments.joined(separator: " ")) failed")
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `openssl s_server -www` on a free port: answers every request with 200 and a status page.
    final class Server {
        let process = Process()
        let port = Int.random(in: 20000...60000)

        init(_ pki: PKI, requireClientCertificate: Bool) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_server", "-www", "-accept", "127.0.0.1:\(port)", "-cert", pki.path("server.crt"),
                                 "-key", pki.path("server.key"), "-CAfile", pki.path("ca.crt")]
                + (requireClientCertificate ? ["-Verify", "1"] : [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Waits until it accepts connections (whatever the handshake then says).
        func waitUntilListening() async throws {
            let listening = await eventually {
                do {
                    _ = try await CurlTransport(tls: TLSOptions(insecureSkipTLSVerify: true))
                        .perform(HTTPRequest(method: "GET", url: url, timeout: .seconds(2)))
                    return true
                } catch let error as KubernetesError {
                    return !error.message.contains("Couldn't connect")
                } catch {
                    return true
                }
            }
            guard listening else { throw KubernetesError(.transport, "openssl s_server never listened on port \(port)") }
        }

        var url: String { "https://127.0.0.1:\(port)/" }

        deinit {
            // s_server does not stop on SIGTERM while it waits for a connection.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func get(_ url: String, _ tls: TLSOptions) async throws(KubernetesError) -> Int {
        try await CurlTransport(tls: tls).perform(HTTPRequest(method: "GET", url: url, timeout: .seconds(5))).status
    }

    @Test("verified by default: an unknown CA is refused; the CA from a file or from memory is trusted; skipping verification only when set")
    func serverVerification() async throws {
        let pki = try PKI()
        let server = try Server(pki, requireClientCertificate: false)
        try await server.waitUntilListening()
        do {
            _ = try await get(server.url, TLSOptions())
            Issue.record("a certificate from an unknown CA was accepted")
        } catch {
            #expect(error.code == .transport)
            #expect(error.message.lowercased().contains("certificate"), "\(error.message)")
        }
        #expect(try await get(server.url, TLSOptions(caFile: pki.path("ca.crt"))) == 200)
        #expect(try await get(server.url, TLSOptions(caPEM: try pki.bytes("ca.crt"))) == 200)
        #expect(try await get(server.url, TLSOptions(insecureSkipTLSVerify: true)) == 200)
    }

    @Test("client certificates: refused without one; accepted from files, and from kubeconfig *-data")
    func clientCertificates() async throws {
        let pki = try PKI()
        let server = try Server(pki, requireClientCertificate: true)
        try await server.waitUntilListening()
        do {
            _ = try await get(server.url, TLSOptions(caFile: pki.path("ca.crt")))
            Issue.record("no client certificate, yet the server answered")
        } catch {
            #expect(error.code == .transport)
        }
        #expect(try await get(server.url, TLSOptions(caFile: pki.path("ca.crt"), clientCertificateFile: pki.path("client.crt"),
                                                    clientKeyFile: pki.path("client.key"))) == 200)

        let kubeconfig = """
            apiVersion: v1
            kind: Config
            current-context: tls
            clusters: [{name: tls, cluster: {server: "\(server.url)", certificate-authority-data: \(Data(try pki.bytes("ca.crt")).base64EncodedString())}}]
            users: [{name: me, user: {client-certificate-data: \(Data(try pki.bytes("client.crt")).base64EncodedString()), client-key-data: \(Data(try pki.bytes("client.key")).base64EncodedString())}}]
            contexts: [{name: tls, context: {cluster: tls, user: me}}]
            """
        let config = try Kubeconfig.parse(kubeconfig).configuration()
        #expect(try await get(config.server + "/", config.tls) == 200)
    }
}
