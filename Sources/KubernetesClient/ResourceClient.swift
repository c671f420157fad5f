/// Options of a LIST or WATCH.
public struct ListOptions: Sendable {
    /// e.g. `app=web,tier!=db`.
    public var labelSelector: String?
    /// e.g. `spec.nodeName=node-a`.
    public var fieldSelector: String?
    /// Page size (LIST).
    public var limit: Int?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
    }

    var query: [(String, String)] {
        var query: [(String, String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        return query
    }
}

/// How a PATCH body is to be read (its `Content-Type`).
public enum PatchType: Sendable, Hashable {
    /// RFC 7386 JSON merge patch: maps merge, lists are replaced, `null` deletes.
    case merge
    /// Strategic merge patch (built-in types only): lists of containers, conditions, ... merge by key.
    case strategicMerge
    /// RFC 6902 JSON patch: a list of operations.
    case json
    /// Server-side apply: the body is the caller's full intent for the fields it manages.
    case apply(fieldManager: String, force: Bool)

    var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .strategicMerge: "application/strategic-merge-patch+json"
        case .json: "application/json-patch+json"
        case .apply: "application/apply-patch+yaml"
        }
    }

    var query: [(String, String)] {
        guard case .apply(let manager, let force) = self else { return [] }
        return [("fieldManager", manager)] + (force ? [("force", "true")] : [])
    }
}

/// Typed verbs on one resource type, in one namespace or (reads only) all of them; for a
/// cluster-scoped type (nodes), in the cluster.
public struct ResourceClient<R: KubernetesResource>: Sendable {
    let client: APIClient
    /// nil: all namespaces (LIST and WATCH only); always nil for a cluster-scoped type.
    public let namespace: String?

    init(client: APIClient, namespace: String?) {
        self.client = client
        // A cluster-scoped object has no namespace: `/api/v1/namespaces/x/nodes` is no path the API serves.
        self.namespace = R.namespaced ? namespace : nil
    }

    /// `/api/v1[/namespaces/ns]/pods`, `/api/v1/nodes`.
    var collectionPath: String {
        R.apiPath + (namespace.map { "/namespaces/\($0)" } ?? "") + "/\(R.plural)"
    }

    private func objectPath(_ name: String, _ subresource: String?) throws(KubernetesError) -> String {
        guard namespace != nil || !R.namespaced else {
            throw KubernetesError(.configuration, "\(R.kind) \(name): a namespace is needed to address one object")
        }
        return collectionPath + "/\(name)" + (subresource.map { "/\($0)" } ?? "")
    }

    /// GET one object.
    public func get(_ name: String) async throws(KubernetesError) -> R {
        let response = try await client.send("GET", try objectPath(name, nil))
        return try client.decode(R.self, response, "GET \(R.kind) \(name)")
    }

    /// One LIST page. `continueToken` asks for the page after an earlier one.
    public func list(_ options: ListOptions = ListOptions(), continueToken: String? = nil) async throws(KubernetesError) -> ObjectList<R> {
        var query = options.query
        if let limit = options.limit { query.append(("limit", String(limit))) }
        if let continueToken { query.append(("continue", continueToken)) }
        let response = try await client.send("GET", collectionPath, query: query)
        return try client.decode(ObjectList<R>.self, response, "LIST \(R.plural)")
    }

    /// Every object, page by page (`limit`/`continue`), and the list's resourceVersion (where a
    /// watch continues from). A continue token that expired mid-way (410) restarts the list.
    public func listAll(_ options: ListOptions = ListOptions(limit: 500)) async throws(KubernetesError) -> (items: [R], resourceVersion: String) {
        var restarts = 0
        while true {
            var items: [R] = []
            var token: String?
            var resourceVersion = ""
            do {
                repeat {
                    let page = try await list(options, continueToken: token)
                    if token == nil { resourceVersion = page.metadata.resourceVersion ?? "" }
                    items += page.items
                    token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
                } while token != nil
                return (items, resourceVersion)
            } catch where error.isExpired && token != nil && restarts < 3 {
                restarts += 1
            }
        }
    }

    /// POST: creates the object (201). `metadata.namespace` defaults to this client's.
    public func create(_ object: R) async throws(KubernetesError) -> R {
        let response = try await client.send("POST", collectionPath, body: try client.encode(object))
        return try client.decode(R.self, response, "create \(R.kind) \(object.metadata.name)")
    }

    /// PUT with optimistic concurrency: the object's `resourceVersion` must be current, or 409.
    /// Only for types whose every field the model carries (PodAllocation, Lease), never pods.
    public func update(_ object: R) async throws(KubernetesError) -> R {
        let response = try await client.send("PUT", try objectPath(object.metadata.name, nil), body: try client.encode(object))
        return try client.decode(R.self, response, "update \(R.kind) \(object.metadata.name)")
    }

    /// PUT to the `status` subresource (only `status` changes; `resourceVersion` checked).
    public func updateStatus(_ object: R) async throws(KubernetesError) -> R {
        let response = try await client.send("PUT", try objectPath(object.metadata.name, "status"), body: try client.encode(object))
        return try client.decode(R.self, response, "update \(R.kind) \(object.metadata.name) status")
    }

    /// Read, change, write; on 409 (someone wrote in between) read again and re-apply `change`,
    /// up to `attempts` times. `change` must be a function of the object it is given.
    public func update(_ name: String, subresource: String? = nil, attempts: Int = 5,
                       _ change: (inout R) throws(KubernetesError) -> Void) async throws(KubernetesError) -> R {
        var attempt = 1
        while true {
            var object = try await get(name)
            try change(&object)
            do {
                return subresource == "status" ? try await updateStatus(object) : try await update(object)
            } catch where error.isConflict && attempt < attempts {
                attempt += 1
            }
        }
    }

    /// PATCH with raw bytes of the given type, optionally on a subresource (`status`, `resize`).
    public func patch(_ name: String, _ type: PatchType, body: [UInt8], subresource: String? = nil) async throws(KubernetesError) -> R {
        let response = try await client.send("PATCH", try objectPath(name, subresource), query: type.query, body: body,
                                             contentType: type.contentType)
        return try client.decode(R.self, response, "patch \(R.kind) \(name)\(subresource.map { "/\($0)" } ?? "")")
    }

    /// PATCH with an encodable body (merge, strategic merge, apply) or a list of operations (JSON patch).
    public func patch<Body: Encodable>(_ name: String, _ type: PatchType, _ body: Body, subresource: String? = nil) async throws(KubernetesError) -> R {
        try await patch(name, type, body: try client.encode(body), subresource: subresource)
    }

    /// DELETE.
    public func delete(_ name: String) async throws(KubernetesError) {
        _ = try await client.send("DELETE", try objectPath(name, nil))
    }
}

/// One RFC 6902 operation, for ``PatchType/json``.
public struct JSONPatchOperation: Encodable, Sendable {
    public var op: String
    public var path: String
    public var value: JSONValue?

    public static func replace(_ path: String, _ value: JSONValue) -> JSONPatchOperation { .init(op: "replace", path: path, value: value) }
    public static func add(_ path: String, _ value: JSONValue) -> JSONPatchOperation { .init(op: "add", path: path, value: value) }
    public static func remove(_ path: String) -> JSONPatchOperation { .init(op: "remove", path: path, value: nil) }
    public static func test(_ path: String, _ value: JSONValue) -> JSONPatchOperation { .init(op: "test", path: path, value: value) }
}

/// A JSON value for hand-built patch bodies.
public indirect enum JSONValue: Encodable, Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral {
    case string(String), int(Int64), double(Double), bool(Bool), null
    case object([String: JSONValue]), array([JSONValue])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements) { $1 }) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        }
    }
}
