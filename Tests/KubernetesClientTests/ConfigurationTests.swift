import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import Testing

@Suite("kubeconfig and in-cluster configuration")
struct ConfigurationTests {
    let directory: String = {
        let path = NSTemporaryDirectory() + "mbcas-kubeconfig-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func write(_ name: String, _ text: String) -> String {
        let path = "\(directory)/\(name)"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let kubeconfig = """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: prod
          cluster:
            server: https://10.0.0.1:6443/
            certificate-authority: certs/ca.crt
        - name: local
          cluster:
            server: https://127.0.0.1:6443
            certificate-authority-data: \(Data("CA PEM".utf8).base64EncodedString())
            insecure-skip-tls-verify: false
        users:
        - name: admin
          user:
            client-certificate-data: \(Data("CERT PEM".utf8).base64EncodedString())
            client-key-data: \(Data("KEY PEM".utf8).base64EncodedString())
        - name: robot
          user:
            tokenFile: robot.token
        - name: sso
          user:
            exec:
              command: kubelogin
        contexts:
        - name: dev
          context: {cluster: local, user: admin, namespace: team-a}
        - name: ops
          context: {cluster: prod, user: robot}
        - name: broken
          context: {cluster: nowhere, user: admin}
        - name: plugin
          context: {cluster: local, user: sso}
        """

    @Test("current context: server, CA and client certificate from inline data, namespace")
    func currentContext() throws {
        let path = write("config", Self.kubeconfig)
        let config = try ClusterConfiguration.resolve(kubeconfig: path)
        #expect(config.server == "https://127.0.0.1:6443")
        #expect(config.tls.caPEM == Array("CA PEM".utf8))
        #expect(config.tls.clientCertificatePEM == Array("CERT PEM".utf8))
        #expect(config.tls.clientKeyPEM == Array("KEY PEM".utf8))
        #expect(config.tls.insecureSkipTLSVerify == false)
        #expect(config.namespace == "team-a")
        #expect(config.token == nil)
    }

    @Test("another context: relative paths resolve against the kubeconfig's folder; token file read")
    func namedContext() throws {
        let path = write("config", Self.kubeconfig)
        _ = write("robot.token", "s3cret\n")
        let config = try ClusterConfiguration.resolve(kubeconfig: path, context: "ops")
        #expect(config.server == "https://10.0.0.1:6443")  // trailing slash dropped
        #expect(config.tls.caFile == "\(directory)/certs/ca.crt")
        #expect(try config.token?.current() == "s3cret")
    }

    @Test("errors name what is wrong: missing cluster, unknown context, exec plugin, bad YAML, missing file")
    func errors() throws {
        let path = write("config", Self.kubeconfig)
        #expect(throws: KubernetesError.self) { try ClusterConfiguration.resolve(kubeconfig: path, context: "broken") }
        do {
            _ = try ClusterConfiguration.resolve(kubeconfig: path, context: "broken")
        } catch {
            #expect(error.message.contains("cluster 'nowhere'"))
        }
        do {
            _ = try ClusterConfiguration.resolve(kubeconfig: path, context: "nope")
            Issue.record("unknown context accepted")
        } catch {
            #expect(error.message.contains("no context 'nope'") && error.message.contains("dev, ops"))
        }
        do {
            _ = try ClusterConfiguration.resolve(kubeconfig: path, context: "plugin")
            Issue.record("exec plugin accepted")
        } catch {
            #expect(error.message.contains("exec"))
        }
        do {
            _ = try ClusterConfiguration.resolve(kubeconfig: write("bad", "clusters: [{name: x}]\ncontexts: []\n"))
            Issue.record("malformed kubeconfig accepted")
        } catch {
            #expect(error.code == .configuration && error.message.contains("clusters"))
        }
        do {
            _ = try ClusterConfiguration.resolve(kubeconfig: "\(directory)/missing")
            Issue.record("missing file accepted")
        } catch {
            #expect(error.message.contains("\(directory)/missing"))
        }
    }

    @Test("in-cluster: service host and port, CA, namespace; the token file is re-read when it rotates")
    func inCluster() throws {
        _ = write("token", "first")
        _ = write("ca.crt", "CA")
        _ = write("namespace", "mbcas-system\n")
        let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let config = try ClusterConfiguration.inCluster(environment: environment, directory: directory)
        #expect(config.server == "https://10.96.0.1:443")
        #expect(config.tls.caFile == "\(directory)/ca.crt")
        #expect(config.namespace == "mbcas-system")
        let token = try #require(config.token)
        #expect(try token.current() == "first")
        _ = write("token", "second")
        #expect(try token.current() == "first")  // cached within the refresh interval
        token.invalidate()                        // what a 401 does
        #expect(try token.current() == "second")

        let rotating = TokenSource(file: "\(directory)/token", refreshInterval: .zero)
        _ = write("token", "third")
        #expect(try rotating.current() == "third")
        try FileManager.default.removeItem(atPath: "\(directory)/token")
        #expect(try rotating.current() == "third")  // the kubelet swaps the file: keep the last one

        _ = write("token", "fourth")
        let ipv6 = try ClusterConfiguration.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"],
                                                      directory: directory)
        #expect(ipv6.server == "https://[fd00::1]:443")
        do {
            _ = try ClusterConfiguration.inCluster(environment: [:], directory: directory)
            Issue.record("no environment accepted")
        } catch {
            #expect(error.message.contains("KUBERNETES_SERVICE_HOST"))
        }
    }

    @Test("retry policy: Retry-After honoured (bounded), otherwise jittered exponential backoff within its ceiling")
    func retryPolicy() {
        let policy = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1), maxRetryAfter: .seconds(5))
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(120)) == .seconds(5))
        var delays: Set<Duration> = []
        for _ in 0..<50 {
            let delay = policy.delay(afterAttempt: 3, retryAfter: nil)
            #expect(delay >= .zero && delay <= .milliseconds(400))
            delays.insert(delay)
        }
        #expect(delays.count > 10)  // jittered, not a fixed sleep
        for _ in 0..<20 { #expect(policy.delay(afterAttempt: 30, retryAfter: nil) <= .seconds(1)) }
    }
}

@Suite("bearer token rotation over HTTP")
struct TokenRotationTests {
    @Test("the server stops accepting the old token: the 401 makes the client re-read the file and retry")
    func rotation() async throws {
        let server = try await FakeKubeAPIServer.start()
        let file = NSTemporaryDirectory() + "mbcas-token-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "first".write(toFile: file, atomically: true, encoding: .utf8)
        server.authentication.accept(["first"])
        // A long refresh interval: only the 401 can make the client notice the rotation.
        let client = APIClient(configuration: ClusterConfiguration(server: server.baseURL, token: TokenSource(file: file, refreshInterval: .seconds(3600))),
                               retry: .none, logger: Logger(label: "test"))
        let pods = client.resources(Pod.self, namespace: "default")
        _ = try await pods.create(burstablePod("web"))

        try "second".write(toFile: file, atomically: true, encoding: .utf8)
        server.authentication.accept(["second"])
        #expect(try await pods.get("web").metadata.name == "web")

        server.authentication.accept(["third"])  // a token the client does not have
        do {
            _ = try await pods.get("web")
            Issue.record("an unknown token was accepted")
        } catch {
            #expect(error.httpStatus == 401 && error.reason == "Unauthorized")
        }
        await server.shutdown()
    }
}
