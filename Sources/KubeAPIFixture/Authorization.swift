import Synchronization

/// RBAC, as the real API server's authorizer answers it, for the tokens a test restricts:
/// requests with any other token (or none) pass, as before. A restricted token's user may do
/// exactly what its rules grant, cluster-wide (a ClusterRole bound by a ClusterRoleBinding) or
/// in one namespace (a Role and its RoleBinding), and gets everything else refused with the real server's 403 (handlers/responsewriters
/// `forbiddenMessage` inside `errors.NewForbidden`):
/// `nodes "n1" is forbidden: User "system:serviceaccount:mbcas-system:mbcas-agent" cannot get
/// resource "nodes" in API group "" at the cluster scope`.
/// Not modelled: resourceNames (a rule grants every object of its resources), wildcards,
/// aggregation, and authorization of unknown paths (the fixture answers them 404).
public final class RBACAuthorizer: Sendable {
    /// One PolicyRule: every verb on every resource of every group listed.
    public struct Rule: Sendable, Hashable {
        public var apiGroups: [String]
        /// `pods`, or a subresource as `pods/resize`.
        public var resources: [String]
        /// get, list, watch, create, update, patch, delete.
        public var verbs: [String]
        /// nil: cluster-wide (ClusterRoleBinding); else only requests in this namespace (RoleBinding).
        public var namespace: String?

        public init(apiGroups: [String], resources: [String], verbs: [String], namespace: String? = nil) {
            self.apiGroups = apiGroups
            self.resources = resources
            self.verbs = verbs
            self.namespace = namespace
        }
    }

    private struct Subject: Sendable {
        var user: String
        var rules: [Rule]
    }

    private let subjects = Mutex<[String: Subject]>([:])

    init() {}

    /// From now on, requests bearing `token` act as `user` and may do only what `rules` grant.
    public func restrict(token: String, user: String, to rules: [Rule]) {
        subjects.withLock { $0[token] = Subject(user: user, rules: rules) }
    }

    /// The 403 for this request, or nil if it may pass.
    func check(_ request: APIRequest, type: ResourceType, namespace: String?, name: String?,
               subresource: Subresource) -> StatusError? {
        guard let authorization = request.authorization, authorization.hasPrefix("Bearer "),
              let subject = subjects.withLock({ $0[String(authorization.dropFirst(7))] }) else { return nil }
        let verb = Self.verb(request, named: name != nil)
        let resource = subresource == .main ? type.plural : "\(type.plural)/\(subresource.rawValue)"
        let allowed = subject.rules.contains { rule in
            rule.apiGroups.contains(type.group) && rule.resources.contains(resource) && rule.verbs.contains(verb)
                && (rule.namespace == nil || rule.namespace == namespace)
        }
        if allowed { return nil }
        // A list or watch narrowed to one object by `fieldSelector=metadata.name=x` names it, as
        // the apiserver's RequestInfo does (so that resourceNames rules can apply to it).
        let name = name ?? request.query["fieldSelector"].flatMap { selector -> String? in
            guard selector.hasPrefix("metadata.name="), !selector.contains(",") else { return nil }
            return String(selector.dropFirst("metadata.name=".count))
        }
        let scope = namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
        let reason = "User \"\(subject.user)\" cannot \(verb) resource \"\(resource)\" in API group \"\(type.group)\" \(scope)"
        let qualified = type.group.isEmpty ? type.plural : "\(type.plural).\(type.group)"
        var details: JSON = ["kind": .string(type.plural)]
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        if let name { details["name"] = .string(name) }
        let message = name.map { "\(qualified) \"\($0)\" is forbidden: \(reason)" } ?? "\(qualified) is forbidden: \(reason)"
        return StatusError(code: 403, reason: "Forbidden", message: message, details: details)
    }

    /// The request's RBAC verb (the apiserver's RequestInfo): a GET of a collection is `list`,
    /// or `watch` with `watch=true`.
    static func verb(_ request: APIRequest, named: Bool) -> String {
        switch request.method {
        case "GET" where named: "get"
        case "GET": request.query["watch"] == "true" || request.query["watch"] == "1" ? "watch" : "list"
        case "POST": "create"
        case "PUT": "update"
        case "PATCH": "patch"
        case "DELETE": "delete"
        default: request.method.lowercased()
        }
    }
}
