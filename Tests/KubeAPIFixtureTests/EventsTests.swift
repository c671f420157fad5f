import Foundation
import KubeAPIFixture
import Testing

/// Core v1 events, which the controller records on pods.
@Suite struct EventsTests {
    let events = "/api/v1/namespaces/default/events"

    func event(_ name: String, pod: String, reason: String) -> JSON {
        ["apiVersion": "v1", "kind": "Event", "metadata": ["name": .string(name)],
         "involvedObject": ["kind": "Pod", "namespace": "default", "name": .string(pod), "apiVersion": "v1"],
         "reason": .string(reason), "message": "resized", "type": "Normal", "source": ["component": "mbcas-controller"]]
    }

    @Test func eventsAreServedListedAndWatched() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let core = try await client.send("GET", "/api/v1")
        let served = core.body["resources"]?.array?.first { $0["name"] == "events" }
        #expect(served?["kind"] == "Event")
        #expect(served?["namespaced"] == true)
        #expect(core.body["resources"]?.array?.contains { $0["name"] == "events/status" } == false)

        let created = try await client.send("POST", events, body: event("web.1", pod: "web", reason: "Resized"))
        #expect(created.code == 201)
        let rv = created.body[path: ["metadata", "resourceVersion"]]?.string ?? ""
        _ = try await client.send("POST", events, body: event("db.1", pod: "db", reason: "ResizeRefused"))

        let forWeb = try await client.send("GET", "\(events)?fieldSelector=involvedObject.name%3Dweb")
        #expect(forWeb.body["kind"] == "EventList")
        #expect(forWeb.body["items"]?.array?.compactMap { $0[path: ["metadata", "name"]]?.string } == ["web.1"])
        let refused = try await client.send("GET", "/api/v1/events?fieldSelector=reason%3DResizeRefused,source%3Dmbcas-controller")
        #expect(refused.body["items"]?.array?.count == 1)

        let watched = try await client.watch("\(events)?watch=true&resourceVersion=\(rv)&timeoutSeconds=1")
        #expect(watched.map { $0["type"] } == ["ADDED"])
        #expect(watched.first?[path: ["object", "metadata", "name"]] == "db.1")
        await server.shutdown()
    }
}
