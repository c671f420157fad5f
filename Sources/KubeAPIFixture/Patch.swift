/// The patch formats of `PATCH`, chosen by `Content-Type` as on the real server: JSON patch,
/// JSON merge patch, strategic merge patch (built-in types only: a custom resource answers 415,
/// since strategic merge needs Go struct tags) and server-side apply (see ``ServerSideApply``).
enum PatchType: Sendable {
    case json, merge, strategic, apply

    init(contentType: String, type: ResourceType) throws(StatusError) {
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch media {
        case "application/json-patch+json": self = .json
        case "application/merge-patch+json": self = .merge
        case "application/strategic-merge-patch+json" where type.isBuiltIn: self = .strategic
        case "application/apply-patch+yaml": self = .apply
        default: throw StatusError.unsupportedMediaType(type)
        }
    }

    /// Applies a JSON, merge or strategic patch; server-side apply goes through ``ServerSideApply``.
    func apply(_ patch: JSON, to target: JSON, type: ResourceType) throws(StatusError) -> JSON {
        switch self {
        case .json: return try Patch.jsonPatch(target, patch)
        case .merge: return Patch.merge(target, patch)
        case .strategic: return try StrategicMerge.apply(patch, to: target, type: type)
        case .apply: return try ServerSideApply.merge(patch, into: target, type: type)
        }
    }
}

/// RFC 7386 merge patch and RFC 6902 JSON patch over ``JSON``.
enum Patch {
    /// RFC 7386: objects merge recursively, `null` removes a member, anything else replaces.
    static func merge(_ target: JSON, _ patch: JSON) -> JSON {
        guard case .object(let members) = patch else { return patch }
        var result = target.object ?? [:]
        for (key, value) in members {
            if value == .null {
                result.removeValue(forKey: key)
            } else {
                result[key] = merge(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    /// RFC 6902: add, remove, replace, move, copy, test, applied in order; any failure rejects
    /// the whole patch (422, as the real server answers a patch that cannot apply).
    static func jsonPatch(_ target: JSON, _ patch: JSON) throws(StatusError) -> JSON {
        guard let operations = patch.array else { throw invalid("a JSON patch must be an array of operations") }
        var document = target
        for operation in operations {
            guard let op = operation["op"]?.string, let path = operation["path"]?.string else {
                throw invalid("each operation needs \"op\" and \"path\"")
            }
            let tokens = try pointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw invalid("add operation needs a value") }
                document = try add(document, tokens[...], value)
            case "remove":
                document = try remove(document, tokens[...]).0
            case "replace":
                guard let value = operation["value"] else { throw invalid("replace operation needs a value") }
                document = try add(try remove(document, tokens[...]).0, tokens[...], value)
            case "move", "copy":
                guard let from = operation["from"]?.string else { throw invalid("\(op) operation needs \"from\"") }
                let fromTokens = try pointer(from)
                guard let value = get(document, fromTokens[...]) else { throw invalid("\(from): path not found") }
                if op == "move" { document = try remove(document, fromTokens[...]).0 }
                document = try add(document, tokens[...], value)
            case "test":
                guard get(document, tokens[...]) == operation["value"] else {
                    throw invalid("testing value \(path) failed")
                }
            default:
                throw invalid("unexpected kind of operation: \(op)")
            }
        }
        return document
    }

    static func invalid(_ message: String) -> StatusError {
        StatusError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: \(message)",
                    details: ["causes": [["reason": "FieldValueInvalid", "message": .string(message), "field": "patch"]]])
    }

    /// Splits an RFC 6901 pointer, unescaping `~1` and `~0`.
    static func pointer(_ path: String) throws(StatusError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw invalid("invalid JSON pointer \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ document: JSON, _ tokens: ArraySlice<String>) -> JSON? {
        guard let token = tokens.first else { return document }
        switch document {
        case .object(let members): return members[token].flatMap { get($0, tokens.dropFirst()) }
        case .array(let elements):
            guard let index = Int(token), elements.indices.contains(index) else { return nil }
            return get(elements[index], tokens.dropFirst())
        default: return nil
        }
    }

    static func add(_ document: JSON, _ tokens: ArraySlice<String>, _ value: JSON) throws(StatusError) -> JSON {
        guard let token = tokens.first else { return value }
        let last = tokens.count == 1
        switch document {
        case .object(var members):
            if last {
                members[token] = value
            } else {
                guard let child = members[token] else { throw invalid("path /\(tokens.joined(separator: "/")) not found") }
                members[token] = try add(child, tokens.dropFirst(), value)
            }
            return .object(members)
        case .array(var elements):
            if last {
                if token == "-" {
                    elements.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= elements.count else { throw invalid("array index \(token) out of bounds") }
                    elements.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), elements.indices.contains(index) else { throw invalid("array index \(token) out of bounds") }
                elements[index] = try add(elements[index], tokens.dropFirst(), value)
            }
            return .array(elements)
        default:
            throw invalid("cannot add below a scalar at \(token)")
        }
    }

    static func remove(_ document: JSON, _ tokens: ArraySlice<String>) throws(StatusError) -> (JSON, JSON) {
        guard let token = tokens.first else { throw invalid("cannot remove the whole document") }
        let last = tokens.count == 1
        switch document {
        case .object(var members):
            guard let child = members[token] else { throw invalid("path /\(tokens.joined(separator: "/")) not found") }
            if last {
                members.removeValue(forKey: token)
                return (.object(members), child)
            }
            let (newChild, removed) = try remove(child, tokens.dropFirst())
            members[token] = newChild
            return (.object(members), removed)
        case .array(var elements):
            guard let index = Int(token), elements.indices.contains(index) else { throw invalid("array index \(token) out of bounds") }
            if last {
                return (.array(elements), elements.remove(at: index))
            }
            let (newChild, removed) = try remove(elements[index], tokens.dropFirst())
            elements[index] = newChild
            return (.array(elements), removed)
        default:
            throw invalid("path not found at \(token)")
        }
    }
}

import Foundation
