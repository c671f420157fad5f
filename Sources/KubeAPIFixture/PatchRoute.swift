/// `PATCH` of an object or one of its subresources, in every format ``PatchType`` accepts.
extension Router {
    func patch(_ type: ResourceType, namespace: String, name: String, subresource: Subresource,
               _ request: APIRequest) throws(StatusError) -> APIResponse {
        let patchType = try PatchType(contentType: request.contentType, type: type)
        let options = try ServerSideApply.Options(query: request.query, patchType: patchType)
        let patch = patchType == .apply ? try ServerSideApply.parse(request.body, type: type, name: name) : try parse(request.body)
        if patchType == .apply, subresource == .main, let manager = options.fieldManager,
           (try? store.get(type, namespace: namespace, name: name)) == nil {
            // Apply creates what does not exist yet; a create racing it makes this an update.
            var object = patch
            ServerSideApply.recordManager(manager, in: &object, type: type, subresource: subresource)
            do throws(StatusError) {
                return .json(201, try store.create(type, namespace: namespace, object: object))
            } catch where error.reason == "AlreadyExists" {}
        }
        let result = try store.modify(type, namespace: namespace, name: name, subresource: subresource) { old throws(StatusError) in
            try Self.patched(old, with: patch, patchType, manager: options.fieldManager, type: type, subresource: subresource)
        }
        return .json(200, result)
    }

    /// The proposed object: the patch applied to the live one, with the manager recorded for an
    /// apply, and `metadata.resourceVersion` left as a precondition only when the patch sets it
    /// (a patch that does not mention it is unconditional, as on the real server).
    private static func patched(_ old: JSON, with patch: JSON, _ patchType: PatchType, manager: String?, type: ResourceType,
                                subresource: Subresource) throws(StatusError) -> JSON {
        var result = try patchType.apply(patch, to: old, type: type)
        if patchType == .apply, let manager {
            if result == old, ServerSideApply.hasEntry(of: manager, in: old, subresource: subresource) { return old }
            ServerSideApply.recordManager(manager, in: &result, type: type, subresource: subresource)
        }
        let resourceVersion = ["metadata", "resourceVersion"]
        switch patchType {
        case .merge, .strategic, .apply:
            if patch[path: resourceVersion] == nil { result[path: resourceVersion] = nil }
        case .json:
            if result[path: resourceVersion] == old[path: resourceVersion] { result[path: resourceVersion] = nil }
        }
        return result
    }
}
