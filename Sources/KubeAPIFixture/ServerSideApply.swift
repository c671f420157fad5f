import Foundation

/// Server-side apply (`PATCH` with `application/apply-patch+yaml`), as far as the fixture models it.
///
/// Modelled: the `fieldManager` query parameter is required (422 Invalid on `PatchOptions`,
/// naming `fieldManager`); `force` is accepted (and, as on the real server, refused on other
/// patch types); an absent object is created (201) by applying to the main resource; an existing
/// one gets the applied configuration merged in (strategic merge rules for built-in types, JSON
/// merge rules for custom resources); the manager's `metadata.managedFields` entry
/// (`operation: Apply`, `fieldsType: FieldsV1`, `time`) is added or refreshed; an apply that
/// changes nothing writes nothing.
///
/// Not modelled, on purpose:
/// - field ownership: `fieldsV1` is always `{}`, there are no conflicts between managers (so
///   `force` changes nothing) and a field a manager stops applying is kept, not removed;
/// - `Update` entries in `managedFields` for non-apply writes;
/// - YAML bodies: the body must be JSON (which is YAML); anything else is 415 with a message
///   saying so. The real server parses YAML.
enum ServerSideApply {
    /// The query options of a PATCH, checked as the real server checks `PatchOptions`.
    struct Options {
        var fieldManager: String?
        var force: Bool

        init(query: [String: String], patchType: PatchType) throws(StatusError) {
            fieldManager = query["fieldManager"].flatMap { $0.isEmpty ? nil : $0 }
            force = query["force"] == "true"
            var causes: [StatusError.Cause] = []
            if patchType == .apply, fieldManager == nil {
                causes.append(.init(field: "fieldManager", message: "Required value: is required for apply patch",
                                    reason: "FieldValueRequired"))
            }
            if patchType != .apply, query["force"] != nil {
                causes.append(.init(field: "force", message: "Forbidden: may not be specified for non-apply patch",
                                    reason: "FieldValueForbidden"))
            }
            guard causes.isEmpty else {
                throw StatusError.invalid(kind: "PatchOptions", group: "meta.k8s.io", name: "", causes: causes)
            }
        }
    }

    /// Parses the applied configuration and checks that it is one of `type`, named `name`.
    static func parse(_ body: Data, type: ResourceType, name: String) throws(StatusError) -> JSON {
        let applied: JSON
        do {
            applied = try JSON.parse(body)
        } catch {
            throw StatusError(code: 415, reason: "UnsupportedMediaType",
                              message: "the fixture reads application/apply-patch+yaml bodies as JSON only (JSON is valid YAML); send the applied configuration as JSON: \(error)")
        }
        guard case .object = applied else { throw StatusError.badRequest("the applied configuration must be an object") }
        guard applied["kind"]?.string == type.kind, applied["apiVersion"]?.string == type.apiVersion else {
            throw StatusError.badRequest("the applied configuration must set apiVersion \(type.apiVersion) and kind \(type.kind)")
        }
        if let bodyName = applied[path: ["metadata", "name"]]?.string, bodyName != name {
            throw StatusError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        return applied
    }

    /// The live object with the applied configuration merged in.
    static func merge(_ applied: JSON, into live: JSON, type: ResourceType) throws(StatusError) -> JSON {
        var applied = applied
        applied[path: ["metadata", "managedFields"]] = nil
        return type.isBuiltIn ? try StrategicMerge.apply(applied, to: live, type: type) : Patch.merge(live, applied)
    }

    /// Adds or refreshes `manager`'s Apply entry in `metadata.managedFields`.
    static func recordManager(_ manager: String, in object: inout JSON, type: ResourceType, subresource: Subresource) {
        var entry: JSON = ["manager": .string(manager), "operation": "Apply", "apiVersion": .string(type.apiVersion),
                           "time": .string(ObjectStore.timestamp()), "fieldsType": "FieldsV1", "fieldsV1": [:]]
        if subresource != .main { entry["subresource"] = .string(subresource.rawValue) }
        var entries = object[path: ["metadata", "managedFields"]]?.array ?? []
        entries.removeAll { isEntry($0, of: manager, subresource: subresource) }
        entries.append(entry)
        object[path: ["metadata", "managedFields"]] = .array(entries)
    }

    /// Whether `object` already has `manager`'s Apply entry for `subresource`.
    static func hasEntry(of manager: String, in object: JSON, subresource: Subresource) -> Bool {
        (object[path: ["metadata", "managedFields"]]?.array ?? []).contains { isEntry($0, of: manager, subresource: subresource) }
    }

    private static func isEntry(_ entry: JSON, of manager: String, subresource: Subresource) -> Bool {
        entry["manager"]?.string == manager && entry["operation"] == "Apply"
            && (entry["subresource"]?.string ?? "") == subresource.rawValue
    }
}
