import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KubeAPIFixture

/// A minimal HTTP client for the fixture: one request, whole body back.
struct TestClient {
    let base: String
    /// Sent as `Authorization: Bearer <token>` when set.
    var token: String? = nil

    struct Reply {
        var code: Int
        var body: JSON
        var raw: Data
        var headers: [AnyHashable: Any]
    }

    func send(_ method: String, _ path: String, body: JSON? = nil,
              contentType: String = "application/json", timeout: TimeInterval = 10) async throws -> Reply {
        try await send(method, path, bytes: body?.encoded(), contentType: contentType, timeout: timeout)
    }

    /// Sends `bytes` as they are, e.g. a body that is not JSON.
    func send(_ method: String, _ path: String, bytes: Data?,
              contentType: String, timeout: TimeInterval = 10) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let bytes {
            request.httpBody = bytes
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let json = (try? JSON.parse(data)) ?? .null
        return Reply(code: http.statusCode, body: json, raw: data, headers: http.allHeaderFields)
    }

    /// A watch's events, read until the server ends the stream (use `timeoutSeconds`).
    func watch(_ path: String) async throws -> [JSON] {
        let reply = try await send("GET", path, timeout: 20)
        return String(decoding: reply.raw, as: UTF8.self).split(separator: "\n").compactMap { try? JSON.parse(Data($0.utf8)) }
    }
}

func pod(_ name: String, node: String = "node-a", labels: [String: String] = [:], cpu: String = "500m",
         guaranteed: Bool = false) -> JSON {
    var resources: JSON = ["requests": ["cpu": .string(cpu), "memory": "64Mi"]]
    if guaranteed { resources["limits"] = ["cpu": .string(cpu), "memory": "64Mi"] }
    return [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
        "spec": ["nodeName": .string(node), "containers": [["name": "app", "image": "busybox", "resources": resources]]],
    ]
}
