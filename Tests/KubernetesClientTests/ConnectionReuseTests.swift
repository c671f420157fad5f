import Foundation
import KubeAPIFixture
import KubernetesClient
import TestSupport
import Testing

/// Connection reuse: a stream of requests costs one TCP (and TLS) handshake, not one each.
@Suite("connection reuse", .serialized)
struct ConnectionReuseTests {
    @Test("sequential requests reuse one connection to the API server")
    func reusesOneConnection() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = APIClient(configuration: ClusterConfiguration(server: server.baseURL), logger: .init(label: "test"))
        let pods = client.resources(Pod.self, namespace: "default")
        for _ in 0..<20 { _ = try await pods.list() }
        #expect(server.acceptedConnections == 1)
        await server.shutdown()
    }

    /// A TLS server that keeps connections alive (HTTP/1.1), as an API server does: Python's
    /// http.server behind ssl, counting the connections it accepts (GET /connections).
    final class KeepAliveTLSServer {
        let process = Process()
        let port = Int.random(in: 20000...60000)
        let script = NSTemporaryDirectory() + "mbcas-tls-keepalive-\(UUID().uuidString).py"

        init(_ pki: TLSTests.PKI) throws {
            try """
                import http.server, ssl, sys, threading
                count = 0
                lock = threading.Lock()
                class Handler(http.server.BaseHTTPRequestHandler):
                    protocol_version = "HTTP/1.1"
                    disable_nagle_algorithm = True  # headers and body are two writes
                    def setup(self):
                        global count
                        with lock: count += 1
                        super().setup()
                    def do_GET(self):
                        body = (str(count) if self.path == "/connections" else '{"kind":"Status","code":200}').encode()
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    def log_message(self, *args): pass
                server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(sys.argv[2], sys.argv[3])
                server.socket = context.wrap_socket(server.socket, server_side=True)
                server.serve_forever()
                """.write(toFile: script, atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, String(port), pki.path("server.crt"), pki.path("server.key")]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var url: String { "https://127.0.0.1:\(port)" }

        /// The server process's CPU time so far (user + system), from /proc.
        var cpuSeconds: Double {
            guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return 0 }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return (Double(fields[11]) ?? 0) / 100 + (Double(fields[12]) ?? 0) / 100  // utime, stime in ticks (USER_HZ 100)
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)  // http.server may not stop on SIGTERM in accept
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: script)
        }
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    @Test("against a TLS server: one connection instead of one per request; requests/s and CPU printed beside today's client")
    func tlsFigures() async throws {
        let pki = try TLSTests.PKI()
        let server = try KeepAliveTLSServer(pki)
        let tls = TLSOptions(caFile: pki.path("ca.crt"))
        let probe = CurlTransport(tls: tls, reuseConnections: false)
        let listening = await eventually {
            (try? await probe.perform(HTTPRequest(method: "GET", url: server.url + "/", timeout: .seconds(2)))) != nil
        }
        guard listening else { throw KubernetesError(.transport, "the TLS test server never listened") }
        func connections() async throws -> Int {
            Int(String(decoding: try await probe.perform(HTTPRequest(method: "GET", url: server.url + "/connections")).body, as: UTF8.self)) ?? -1
        }
        let requests = 200
        for (label, reuse) in [("one connection per request (before)", false), ("connections reused", true),
                               ("one connection per request (before)", false), ("connections reused", true)] {
            let transport = CurlTransport(tls: tls, reuseConnections: reuse)
            let connectionsBefore = try await connections()
            let (clientCPU, serverCPU) = (Self.ownCPUSeconds(), server.cpuSeconds)
            let started = ContinuousClock.now
            for _ in 0..<requests {
                let response = try await transport.perform(HTTPRequest(method: "GET", url: server.url + "/api/v1/namespaces/default/pods/web"))
                #expect(response.status == 200)
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let opened = try await connections() - connectionsBefore - 1  // minus the count request's own
            #expect(reuse ? opened == 1 : opened == requests, "\(label): \(opened) connections for \(requests) requests")
            print(String(format: "TLS GET x%d, %@: %.0f requests/s, client CPU %.2f ms/request, server CPU %.2f ms/request, %d connections",
                         requests, label, Double(requests) / seconds, (Self.ownCPUSeconds() - clientCPU) * 1000 / Double(requests),
                         (server.cpuSeconds - serverCPU) * 1000 / Double(requests), opened))
        }
    }
}
