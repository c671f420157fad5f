/// Strategic merge patch (`application/strategic-merge-patch+json`) for the built-in types, by
/// the rules of `k8s.io/apimachinery/pkg/util/strategicpatch`:
///
/// - maps merge recursively and a `null` value deletes the key;
/// - a list whose Go field is tagged `patchStrategy:"merge"` merges element by element on its
///   `patchMergeKey` (a new key is appended, a known one merged into the live element); every
///   other list (e.g. `tolerations`, `containerStatuses`, `resizePolicy`) is replaced whole;
/// - directives: `{"$patch": "delete", <key>: ...}` in a merged list removes that element,
///   `{"$patch": "replace"}` as a list element replaces the whole list with the other elements,
///   `"$patch": "replace"` in a map replaces the map, `"$patch": "delete"` in a map removes it.
///
/// Not modelled: `$setElementOrder/…` (accepted and ignored: merged lists keep live order, new
/// elements last), `$retainKeys` (ignored), `$deleteFromPrimitiveList/…` and merging of primitive
/// lists such as `metadata.finalizers` (replaced here). Custom resources have no Go struct tags,
/// so the real server, and ``PatchType``, answer 415 for them.
enum StrategicMerge {
    /// Field paths (list steps omitted) of the merged lists and their merge keys, from the
    /// `patchStrategy:"merge"` / `patchMergeKey` Go struct tags of `k8s.io/api` (pods and
    /// object metadata; leases and events have no merged list of their own).
    static func mergeKeys(for type: ResourceType) -> [String: String] {
        var keys = ["metadata.ownerReferences": "uid"]
        guard type == .pods else { return keys }
        keys["spec.volumes"] = "name"
        keys["spec.imagePullSecrets"] = "name"
        keys["spec.hostAliases"] = "ip"
        keys["spec.schedulingGates"] = "name"
        keys["spec.resourceClaims"] = "name"
        keys["spec.topologySpreadConstraints"] = "topologyKey"
        for containers in ["containers", "initContainers", "ephemeralContainers"] {
            let path = "spec.\(containers)"
            keys[path] = "name"
            keys["\(path).env"] = "name"
            keys["\(path).ports"] = "containerPort"
            keys["\(path).volumeMounts"] = "mountPath"
            keys["\(path).volumeDevices"] = "devicePath"
        }
        keys["status.conditions"] = "type"
        keys["status.podIPs"] = "ip"
        keys["status.hostIPs"] = "ip"
        keys["status.resourceClaimStatuses"] = "name"
        return keys
    }

    static func apply(_ patch: JSON, to target: JSON, type: ResourceType) throws(StatusError) -> JSON {
        guard let members = patch.object else {
            throw StatusError.badRequest("a strategic merge patch must be a JSON object")
        }
        let merger = Merger(keys: mergeKeys(for: type))
        return try merger.map(target.object ?? [:], members, path: "") ?? .object([:])
    }

    private struct Merger {
        let keys: [String: String]

        /// The merged map, or `nil` when the patch deletes it.
        func map(_ original: [String: JSON], _ patch: [String: JSON], path: String) throws(StatusError) -> JSON? {
            var patch = patch
            switch patch.removeValue(forKey: "$patch") {
            case nil, "merge": break
            case "replace": return try map([:], patch, path: path)
            case "delete": return nil
            case let other?:
                throw StatusError.badRequest("unknown patch type: \(String(decoding: other.encoded(), as: UTF8.self)) in map: \(describe(patch))")
            }
            var result = original
            for (key, value) in patch.sorted(by: { $0.key < $1.key }) {
                if Self.isIgnoredDirective(key) { continue }
                let child = path.isEmpty ? key : "\(path).\(key)"
                switch value {
                case .null:
                    result[key] = nil
                case .object(let members):
                    result[key] = try map(result[key]?.object ?? [:], members, path: child)
                case .array(let elements):
                    result[key] = try list(result[key]?.array ?? [], elements, path: child)
                default:
                    result[key] = value
                }
            }
            return .object(result)
        }

        func list(_ original: [JSON], _ patch: [JSON], path: String) throws(StatusError) -> JSON {
            guard let key = keys[path] else { return .array(patch) }
            if patch.contains(where: { $0["$patch"] == "replace" }) {
                return try list([], patch.filter { $0["$patch"] != "replace" }, path: path)
            }
            var result = original
            for element in patch {
                guard case .object(let members) = element else {
                    throw StatusError.badRequest("expected a map in the list \(path), but received \(String(decoding: element.encoded(), as: UTF8.self))")
                }
                guard let value = members[key], value != .null else {
                    // The real server lets this plain error through as a 500 without a reason.
                    throw StatusError(code: 500, reason: "", message: "map: \(describe(members)) does not contain declared merge key: \(key)")
                }
                let index = result.firstIndex { $0[key] == value }
                if members["$patch"] == "delete" {
                    result.removeAll { $0[key] == value }
                    continue
                }
                let merged = try map(index.flatMap { result[$0].object } ?? [:], members, path: path)
                switch (index, merged) {
                case (let index?, let merged?): result[index] = merged
                case (let index?, nil): result.remove(at: index)
                case (nil, let merged?): result.append(merged)
                case (nil, nil): break
                }
            }
            return .array(result)
        }

        static func isIgnoredDirective(_ key: String) -> Bool {
            key == "$retainKeys" || key.hasPrefix("$setElementOrder/") || key.hasPrefix("$deleteFromPrimitiveList/")
        }

        func describe(_ members: [String: JSON]) -> String {
            String(decoding: JSON.object(members).encoded(), as: UTF8.self)
        }
    }
}
