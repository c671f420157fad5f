import KubernetesClient

/// What `mbcas controller` checks before it starts, so that a missing CRD or permission is one
/// clear line at startup instead of an informer retrying forever in the logs.
public enum Preflight {
    /// Reads once what the controller will need: pods and PodAllocations in every namespace,
    /// and the Lease in its namespace (a missing Lease is fine: the controller creates it).
    /// - Throws: ``ControllerError`` naming the resource and the fix.
    public static func check(client: APIClient, leaseNamespace: String?, leaseName: String) async throws(ControllerError) {
        let server = "\(client.configuration.server) (from \(client.configuration.origin))"
        func explain(_ error: KubernetesError, _ what: String, rbac: String) -> ControllerError {
            switch error.httpStatus {
            case 401:
                return ControllerError(.permission, "the API server at \(server) rejected the credentials while trying to "
                                       + "\(what): \(error.message)")
            case 403:
                return ControllerError(.permission, "not allowed to \(what): the service account needs \(rbac) "
                                       + "(see deploy/rbac/controller.yaml): \(error.message)")
            default:
                if error.code == .transport {
                    return ControllerError(.unavailable, "cannot reach the API server at \(server): \(error.message)")
                }
                return ControllerError(.unavailable, "cannot \(what): \(error.message)")
            }
        }
        do {
            _ = try await client.resources(Pod.self).list(ListOptions(limit: 1))
        } catch {
            throw explain(error, "list pods in all namespaces", rbac: "get, list and watch on pods (cluster-wide)")
        }
        do {
            _ = try await client.resources(PodAllocation.self).list(ListOptions(limit: 1))
        } catch {
            if error.isNotFound {
                throw ControllerError(.missingAPI, "the API server does not serve podallocations.mbcas.io/v1alpha1: "
                                      + "install the CustomResourceDefinition first (kubectl apply -k deploy/crd)")
            }
            throw explain(error, "list podallocations in all namespaces",
                          rbac: "get, list and watch on podallocations.mbcas.io (cluster-wide)")
        }
        if let leaseNamespace {
            do {
                _ = try await client.resources(Lease.self, namespace: leaseNamespace).get(leaseName)
            } catch {
                if error.isNotFound { return }
                throw explain(error, "read the Lease \(leaseNamespace)/\(leaseName)",
                              rbac: "get, create and update on leases.coordination.k8s.io in namespace \(leaseNamespace)")
            }
        }
    }
}
