/// A parsed `labelSelector`: equality-based requirements (`a=b`, `a==b`, `a!=b`) and
/// existence (`a`, `!a`). Set-based forms (`in`, `notin`) are rejected with 400, not ignored,
/// so a test cannot silently rely on an unmodelled filter.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String), notEquals(String, String), exists(String), notExists(String)
    }
    var requirements: [Requirement] = []

    /// Selects everything.
    init() {}

    init(_ text: String?) throws(StatusError) {
        guard let text, !text.isEmpty else { return }
        for raw in text.split(separator: ",") {
            let term = raw.trimmingCharacters(in: .whitespaces)
            if term.contains(" in ") || term.contains(" notin ") || term.contains("(") {
                throw StatusError.badRequest("unable to parse requirement: set-based selectors are not supported by the fixture: \(term)")
            }
            if let range = term.range(of: "!=") {
                requirements.append(.notEquals(String(term[..<range.lowerBound]), String(term[range.upperBound...])))
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                requirements.append(.equals(String(term[..<range.lowerBound]), String(term[range.upperBound...])))
            } else if term.hasPrefix("!") {
                requirements.append(.notExists(String(term.dropFirst())))
            } else {
                requirements.append(.exists(term))
            }
        }
    }

    func matches(_ object: JSON) -> Bool {
        let labels = object[path: ["metadata", "labels"]]?.object ?? [:]
        return requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key]?.string == value
            case .notEquals(let key, let value): labels[key]?.string != value
            case .exists(let key): labels[key] != nil
            case .notExists(let key): labels[key] == nil
            }
        }
    }
}

/// A parsed `fieldSelector`. Like the real server, only a fixed set of fields per type is
/// selectable: `metadata.name`, `metadata.namespace` for all, plus `spec.nodeName` and
/// `status.phase` for pods and the `involvedObject.*`, `reason`, `type`, `source` fields for
/// events, and `spec.nodeName` for podallocations (the CRD's `selectableFields`, GA in 1.32);
/// any other field is a 400.
struct FieldSelector: Sendable {
    var requirements: [(path: [String], value: String, equal: Bool)] = []

    /// Selects everything.
    init() {}

    init(_ text: String?, type: ResourceType) throws(StatusError) {
        guard let text, !text.isEmpty else { return }
        for raw in text.split(separator: ",") {
            let term = String(raw)
            let equal: Bool
            let parts: [String]
            if let range = term.range(of: "!=") {
                equal = false
                parts = [String(term[..<range.lowerBound]), String(term[range.upperBound...])]
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                equal = true
                parts = [String(term[..<range.lowerBound]), String(term[range.upperBound...])]
            } else {
                throw StatusError.badRequest("invalid selector: '\(term)'; can't understand '\(term)'")
            }
            guard let path = Self.selectable(type)[parts[0]] else {
                throw StatusError.badRequest("field label not supported: \(parts[0])")
            }
            requirements.append((path, parts[1], equal))
        }
    }

    /// The selectable fields of a type and where each lives in the object.
    static func selectable(_ type: ResourceType) -> [String: [String]] {
        // Cluster-scoped objects have no namespace to select on (the generic registry's
        // DefaultClusterScopedAttr); nodes add spec.unschedulable (pkg/registry/core/node).
        var fields = type.namespaced ? ["metadata.name", "metadata.namespace"] : ["metadata.name"]
        if type == .nodes { fields += ["spec.unschedulable"] }
        if type == .pods { fields += ["spec.nodeName", "status.phase"] }
        if type == .podAllocations { fields += ["spec.nodeName"] }  // deploy/crd: selectableFields
        if type == .events {
            fields += ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                       "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                       "reason", "reportingComponent", "type"]
        }
        var paths = Dictionary(uniqueKeysWithValues: fields.map { ($0, $0.split(separator: ".").map(String.init)) })
        if type == .events { paths["source"] = ["source", "component"] }
        return paths
    }

    func matches(_ object: JSON) -> Bool {
        requirements.allSatisfy { requirement in
            // An absent field selects as the empty string, as in the real field sets.
            let actual = object[path: requirement.path]?.string ?? ""
            return (actual == requirement.value) == requirement.equal
        }
    }
}

import Foundation
