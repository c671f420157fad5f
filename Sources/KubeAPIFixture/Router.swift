import Foundation

/// A request as the router sees it: fully read, body included.
struct APIRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var contentType: String
    var authorization: String? = nil
    var body: Data
}

/// What to send back: a whole response, or the start of a watch stream.
enum APIResponse: Sendable {
    case full(code: Int, headers: [(String, String)], body: Data)
    case watch(WatchRequest)

    static func json(_ code: Int, _ body: JSON) -> APIResponse {
        .full(code: code, headers: [("Content-Type", "application/json")], body: body.encoded())
    }

    static func error(_ error: StatusError) -> APIResponse {
        .full(code: error.code, headers: [("Content-Type", "application/json")] + error.headers, body: error.status.encoded())
    }
}

/// A watch to open, parsed from the query.
struct WatchRequest: Sendable {
    var type: ResourceType
    var namespace: String?
    var resourceVersion: String?
    var labels: LabelSelector
    var fields: FieldSelector
    var bookmarks: Bool
    var timeoutSeconds: Int?
}

/// Maps URLs to the store: `/api/v1/...` and `/apis/{group}/{version}/...`, then
/// `[namespaces/{ns}/]{plural}[/{name}[/{subresource}]]`.
struct Router: Sendable {
    let store: ObjectStore
    let faults: FaultInjector
    let authentication: TokenAuthenticator
    let authorization: RBACAuthorizer
    let serverAddress: @Sendable () -> String

    func handle(_ request: APIRequest) -> APIResponse {
        if let denied = authentication.check(request.authorization) { return .error(denied) }
        if let fault = faults.take(path: request.path) { return .error(fault) }
        do throws(StatusError) {
            return try route(request)
        } catch {
            return .error(error)
        }
    }

    private func route(_ request: APIRequest) throws(StatusError) -> APIResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        let isRead = request.method == "GET"
        switch parts.first {
        case "version" where parts.count == 1 && isRead:
            return .json(200, Discovery.version())
        case "api" where parts.count == 1 && isRead:
            return .json(200, Discovery.coreVersions(serverAddress: serverAddress()))
        case "apis" where parts.count == 1 && isRead:
            return .json(200, Discovery.groups())
        case "api" where parts.count >= 2:
            return try resource(group: "", version: parts[1], rest: Array(parts.dropFirst(2)), request)
        case "apis" where parts.count >= 3:
            return try resource(group: parts[1], version: parts[2], rest: Array(parts.dropFirst(3)), request)
        default:
            // Includes /openapi/v2 and /openapi/v3: kubectl copes without them (see the tests).
            throw StatusError.pathNotFound
        }
    }

    private func resource(group: String, version: String, rest: [String], _ request: APIRequest) throws(StatusError) -> APIResponse {
        if rest.isEmpty {
            guard request.method == "GET", let list = Discovery.resources(group: group, version: version) else {
                throw StatusError.pathNotFound
            }
            return .json(200, list)
        }
        var rest = rest
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest[1]
            rest.removeFirst(2)
        }
        guard let type = ResourceType.find(group: group, version: version, plural: rest[0]), rest.count <= 3,
              type.namespaced || namespace == nil  // no /namespaces/{ns}/nodes: a cluster-scoped type has no such path
        else {
            throw StatusError.pathNotFound
        }
        let name = rest.count >= 2 ? rest[1] : nil
        var subresource = Subresource.main
        if rest.count == 3 {
            guard let sub = Subresource(rawValue: rest[2]), sub != .main,
                  sub == .status ? type.hasStatus : type == .pods else { throw StatusError.pathNotFound }
            subresource = sub
        }
        if let denied = authorization.check(request, type: type, namespace: namespace, name: name, subresource: subresource) {
            throw denied
        }
        guard let name else {
            return try collection(type, namespace: namespace, request)
        }
        // A namespaced object needs its namespace in the path; a cluster-scoped one is stored under "".
        guard let namespace = type.namespaced ? namespace : "" else { throw StatusError.pathNotFound }
        switch request.method {
        case "GET":
            return .json(200, try store.get(type, namespace: namespace, name: name))
        case "PUT":
            let object = try parse(request.body)
            return .json(200, try store.update(type, namespace: namespace, name: name, subresource: subresource, object: object))
        case "PATCH":
            return try patch(type, namespace: namespace, name: name, subresource: subresource, request)
        case "DELETE" where subresource == .main:
            return .json(200, try store.delete(type, namespace: namespace, name: name))
        default:
            throw StatusError.methodNotAllowed(request.method)
        }
    }

    private func collection(_ type: ResourceType, namespace: String?, _ request: APIRequest) throws(StatusError) -> APIResponse {
        let query = request.query
        switch request.method {
        case "GET":
            let labels = try LabelSelector(query["labelSelector"])
            let fields = try FieldSelector(query["fieldSelector"], type: type)
            if let watch = query["watch"], watch == "true" || watch == "1" {
                return .watch(WatchRequest(type: type, namespace: namespace, resourceVersion: query["resourceVersion"],
                                           labels: labels, fields: fields,
                                           bookmarks: query["allowWatchBookmarks"] == "true",
                                           timeoutSeconds: query["timeoutSeconds"].flatMap(Int.init)))
            }
            let options = ListOptions(limit: query["limit"].flatMap(Int.init), continueToken: query["continue"],
                                      resourceVersion: query["resourceVersion"], labelSelector: labels, fieldSelector: fields)
            return .json(200, try store.list(type, namespace: namespace, options: options))
        case "POST":
            guard let namespace = type.namespaced ? namespace : "" else { throw StatusError.methodNotAllowed("POST") }
            return .json(201, try store.create(type, namespace: namespace, object: try parse(request.body)))
        default:
            throw StatusError.methodNotAllowed(request.method)
        }
    }

    func parse(_ body: Data) throws(StatusError) -> JSON {
        do {
            return try JSON.parse(body)
        } catch {
            throw StatusError.badRequest("the request body is not valid JSON: \(error)")
        }
    }
}
