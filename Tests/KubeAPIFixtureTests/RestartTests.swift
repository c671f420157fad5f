import Foundation
import KubeAPIFixture
import Testing

/// An API server killed and restarted with its data: open connections are cut, the data and its
/// revisions survive, and a watch resumes from a revision seen before the restart.
@Suite struct RestartTests {
    let pods = "/api/v1/namespaces/default/pods"

    @Test func restartOnTheSamePortKeepsStateAndCutsWatches() async throws {
        let first = try await FakeKubeAPIServer.start()
        let client = TestClient(base: first.baseURL)
        let created = try await client.send("POST", pods, body: pod("web"))
        let rv = try #require(created.body[path: ["metadata", "resourceVersion"]]?.string)

        let clock = ContinuousClock()
        let watchStart = clock.now
        let cut = Task { _ = try? await client.watch("\(pods)?watch=true&resourceVersion=\(rv)&timeoutSeconds=30") }
        try await Task.sleep(for: .milliseconds(300))
        await first.shutdown()
        // The stream ends with the server (an error or a truncated body), not at its timeout.
        await cut.value
        #expect(clock.now - watchStart < .seconds(10))

        // A change made while it is down (straight into the store) reaches a watch resumed
        // after the restart: the history belongs to the store, not to the server.
        _ = try first.store.create(.pods, namespace: "default", object: pod("db"))

        let second = try await FakeKubeAPIServer.start(store: first.store, port: first.port)
        #expect(second.port == first.port)
        let fetched = try await client.send("GET", "\(pods)/web")
        #expect(fetched.code == 200)
        #expect(fetched.body == created.body)
        let resumed = try await client.watch("\(pods)?watch=true&resourceVersion=\(rv)&timeoutSeconds=1")
        #expect(resumed.map { $0["type"] } == ["ADDED"])
        #expect(resumed.first?[path: ["object", "metadata", "name"]] == "db")
        let later = try await client.send("POST", pods, body: pod("cache"))
        #expect(Int(later.body[path: ["metadata", "resourceVersion"]]?.string ?? "") ?? 0 > Int(rv)! + 1)
        await second.shutdown()
    }
}
