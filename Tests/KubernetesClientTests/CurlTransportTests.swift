import Foundation
import KubeAPIFixture
import KubernetesClient
import Testing

/// The libcurl transport against the loopback API server (real HTTP, real rules).
@Suite("libcurl transport")
struct CurlTransportTests {
    let transport = CurlTransport()

    func json(_ response: HTTPResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test("create, conflict and not-found: status codes and the API's Status decoded")
    func createConflictNotFound() async throws {
        let server = try await FakeKubeAPIServer.start()
        let pods = "\(server.baseURL)/api/v1/namespaces/default/pods"
        let pod = Array(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"x"}]}}"#.utf8)
        let headers = ["Content-Type": "application/json", "Accept": "application/json"]

        let created = try await transport.perform(HTTPRequest(method: "POST", url: pods, headers: headers, body: pod))
        #expect(created.status == 201)
        let metadata = try #require(try json(created)["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "web")
        #expect((metadata["resourceVersion"] as? String).map { !$0.isEmpty } == true)
        #expect(created.headers["content-type"]?.hasPrefix("application/json") == true)

        let again = HTTPRequest(method: "POST", url: pods, headers: headers, body: pod)
        let conflict = try await transport.perform(again)
        #expect(conflict.status == 409)
        let error = KubernetesError(response: conflict, request: again)
        #expect(error.reason == "AlreadyExists" && error.httpStatus == 409)
        #expect(error.message.contains("web"))

        let missing = HTTPRequest(method: "GET", url: "\(pods)/nope")
        let notFound = try await transport.perform(missing)
        #expect(notFound.status == 404)
        #expect(KubernetesError(response: notFound, request: missing).reason == "NotFound")
        await server.shutdown()
    }

    @Test("no server: a transport error naming the URL, within the timeout")
    func refused() async throws {
        // Bind and close a port so nothing listens on it.
        let server = try await FakeKubeAPIServer.start()
        let url = "\(server.baseURL)/version"
        await server.shutdown()
        let started = ContinuousClock.now
        await #expect {
            try await transport.perform(HTTPRequest(method: "GET", url: url, timeout: .seconds(5)))
        } throws: { error in
            (error as? KubernetesError)?.code == .transport && "\(error)".contains(url)
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
