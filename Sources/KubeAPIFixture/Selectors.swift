/// A parsed `labelSelector`: equality-based requirements (`a=b`, `a==b`, `a!=b`) and
/// existence (`a`, `!a`). Set-based forms (`in`, `notin`) are rejected with 400, not ignored,
/// so a test cannot silently rely on an unmodelled filter.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String), notEquals(String, String), exists(String), notExists(String)
    }
    var requirements: [Requirement] = []

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
/// `status.phase` for pods; any other field is a 400.
struct FieldSelector: Sendable {
    var requirements: [(path: [String], value: String, equal: Bool)] = []

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
            var supported = ["metadata.name", "metadata.namespace"]
            if type == .pods { supported += ["spec.nodeName", "status.phase"] }
            guard supported.contains(parts[0]) else {
                throw StatusError.badRequest("field label not supported: \(parts[0])")
            }
            requirements.append((parts[0].split(separator: ".").map(String.init), parts[1], equal))
        }
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
