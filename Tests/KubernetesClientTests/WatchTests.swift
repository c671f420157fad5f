import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import Synchronization
import TestSupport
import Testing

@Suite("watch and informer")
struct WatchTests {
    @Test("watch from a list's resourceVersion: added, modified, deleted in order, bookmarks, ends at timeoutSeconds")
    func watchStream() async throws {
        let server = try await FakeKubeAPIServer.start(configuration: .init(bookmarkInterval: .milliseconds(200)))
        let pods = makeClient(server).resources(Pod.self, namespace: "default")
        _ = try await pods.create(burstablePod("before"))
        let listed = try await pods.listAll()

        let writer = Task {
            try await Task.sleep(for: .milliseconds(300))
            _ = try await pods.create(burstablePod("web"))
            _ = try await pods.patch("web", .merge, ["metadata": ["labels": ["seen": "yes"]]] as JSONValue)
            try await pods.delete("web")
        }
        var kinds: [String] = []
        var bookmarks = 0
        let started = ContinuousClock.now
        for try await event in pods.watch(resourceVersion: listed.resourceVersion, timeoutSeconds: 2) {
            switch event {
            case .added(let pod): kinds.append("added \(pod.metadata.name)")
            case .modified(let pod): kinds.append("modified \(pod.metadata.name) \(pod.metadata.labels?["seen"] ?? "")")
            case .deleted(let pod): kinds.append("deleted \(pod.metadata.name)")
            case .bookmark(let version): bookmarks += 1; #expect(!version.isEmpty)
            }
        }
        try await writer.value
        #expect(kinds == ["added web", "modified web yes", "deleted web"])
        #expect(bookmarks >= 1)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(2) && elapsed < .seconds(10))
        await server.shutdown()
    }

    @Test("a resourceVersion older than the server's history: the watch throws 410 Expired")
    func expired() async throws {
        let server = try await FakeKubeAPIServer.start(configuration: .init(historyCapacity: 3))
        let pods = makeClient(server).resources(Pod.self, namespace: "default")
        let first = try await pods.create(burstablePod("p0"))
        for index in 1..<10 { _ = try await pods.create(burstablePod("p\(index)")) }
        do {
            for try await _ in pods.watch(resourceVersion: first.metadata.resourceVersion, timeoutSeconds: 2) {}
            Issue.record("an expired resourceVersion was accepted")
        } catch let error as KubernetesError {
            #expect(error.isExpired)
        }
        await server.shutdown()
    }

    @Test("a consumer that stops iterating closes the stream promptly")
    func earlyExit() async throws {
        let server = try await FakeKubeAPIServer.start()
        let pods = makeClient(server).resources(Pod.self, namespace: "default")
        _ = try await pods.create(burstablePod("web"))
        let started = ContinuousClock.now
        for try await event in pods.watch(resourceVersion: "0", timeoutSeconds: 60) {
            if case .added = event { break }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        await server.shutdown()
    }

    @Test("informer: initial sync, then changes; the cache follows the server")
    func informer() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = makeClient(server)
        let pods = client.resources(Pod.self, namespace: "default")
        _ = try await pods.create(burstablePod("a", node: "node-a"))
        _ = try await pods.create(burstablePod("b", node: "node-b"))
        let informer = Informer(client.resources(Pod.self), options: ListOptions(fieldSelector: "spec.nodeName=node-a"),
                                watchTimeoutSeconds: 1, logger: Logger(label: "test"))
        let seen = Mutex<[String]>([])
        let task = Task {
            await informer.run { event in
                let line: String = switch event {
                case .added(let pod): "added \(pod.metadata.name)"
                case .updated(_, let pod): "updated \(pod.metadata.name)"
                case .deleted(let pod): "deleted \(pod.metadata.name)"
                case .synced: "synced"
                }
                seen.withLock { $0.append(line) }
            }
        }
        #expect(await eventually { informer.hasSynced })
        _ = try await pods.create(burstablePod("c", node: "node-a"))
        try await Task.sleep(for: .milliseconds(1500))  // across a watch timeout: resumed, not relisted
        _ = try await pods.patch("a", .merge, ["metadata": ["labels": ["x": "y"]]] as JSONValue)
        try await pods.delete("c")
        #expect(await eventually { seen.withLock { $0.last } == "deleted c" })
        #expect(seen.withLock { $0 } == ["added a", "synced", "added c", "updated a", "deleted c"])
        #expect(informer.objects.map(\.metadata.name) == ["a"])
        #expect(informer.object("default/a")?.metadata.labels?["x"] == "y")
        #expect(informer.lists == 1)
        task.cancel()
        await task.value
        await server.shutdown()
    }

    @Test("informer across an API outage: disconnected while down; a compacted resourceVersion (410) relists and reports what changed")
    func relistAfterExpiry() async throws {
        let server = try await FakeKubeAPIServer.start(configuration: .init(historyCapacity: 5))
        let client = makeClient(server)
        let pods = client.resources(Pod.self, namespace: "default")
        for name in ["a", "b"] { _ = try await pods.create(burstablePod(name)) }
        let informer = Informer(client.resources(Pod.self, namespace: "default"), watchTimeoutSeconds: 30,
                                backoff: RetryPolicy(initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200)),
                                logger: Logger(label: "test"))
        let seen = Mutex<[String]>([])
        let task = Task {
            await informer.run { event in
                switch event {
                case .added(let pod): seen.withLock { $0.append("added \(pod.metadata.name)") }
                case .deleted(let pod): seen.withLock { $0.append("deleted \(pod.metadata.name)") }
                case .updated, .synced: break
                }
            }
        }
        #expect(await eventually { informer.hasSynced && informer.isConnected })
        await server.shutdown()
        #expect(await eventually { !informer.isConnected })

        // While it is down: a is deleted, c created, and enough else happens that the
        // informer's resourceVersion falls out of the server's history.
        _ = try server.store.delete(.pods, namespace: "default", name: "a")
        let c = try JSON.parse(Data(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"c"},"spec":{"containers":[{"name":"app","image":"x"}]}}"#.utf8))
        _ = try server.store.create(.pods, namespace: "default", object: c)
        for index in 0..<8 {
            let other = try JSON.parse(Data(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"o\#(index)"},"spec":{"containers":[{"name":"app","image":"x"}]}}"#.utf8))
            _ = try server.store.create(.pods, namespace: "elsewhere", object: other)
        }
        let restarted = try await FakeKubeAPIServer.start(store: server.store, port: server.port)
        #expect(await eventually { informer.lists == 2 && informer.isConnected })
        #expect(Set(informer.objects.map(\.metadata.name)) == ["b", "c"])
        #expect(seen.withLock { $0 } == ["added a", "added b", "deleted a", "added c"])
        task.cancel()
        await task.value
        await restarted.shutdown()
    }
}
