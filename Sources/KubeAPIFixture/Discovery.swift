/// The discovery documents kubectl reads before any request: the legacy (non-aggregated) forms.
/// kubectl asks for aggregated discovery first (`as=APIGroupDiscoveryList`) and falls back to
/// these when the answer is a plain `APIVersions` / `APIGroupList`.
enum Discovery {
    static func version() -> JSON {
        ["major": "1", "minor": "33", "gitVersion": "v1.33.0-mbcas-fixture", "gitCommit": "0000000",
         "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
         "platform": "linux/amd64"]
    }

    static func coreVersions(serverAddress: String) -> JSON {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
    }

    static func groups() -> JSON {
        var seen: [String] = []
        var groups: [JSON] = []
        for type in ResourceType.all where !type.group.isEmpty && !seen.contains(type.group) {
            seen.append(type.group)
            let version: JSON = ["groupVersion": .string(type.apiVersion), "version": .string(type.version)]
            groups.append(["name": .string(type.group), "versions": [version], "preferredVersion": version])
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)]
    }

    /// The `APIResourceList` of one group version, or `nil` if none is served there.
    static func resources(group: String, version: String) -> JSON? {
        let types = ResourceType.all.filter { $0.group == group && $0.version == version }
        guard !types.isEmpty else { return nil }
        var resources: [JSON] = []
        for type in types {
            resources.append([
                "name": .string(type.plural), "singularName": .string(type.singular), "namespaced": .bool(type.namespaced),
                "kind": .string(type.kind), "shortNames": .array(type.shortNames.map { .string($0) }),
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            ])
            var subresources: [String] = type.hasStatus ? ["status"] : []
            if type == .pods { subresources.append("resize") }
            for sub in subresources {
                resources.append(["name": .string("\(type.plural)/\(sub)"), "singularName": "", "namespaced": .bool(type.namespaced),
                                  "kind": .string(type.kind), "verbs": ["get", "patch", "update"]])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources)]
    }
}
