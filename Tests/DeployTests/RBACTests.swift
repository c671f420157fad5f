import Foundation
import Testing

/// The rendered RBAC, read the way the API server would: each ServiceAccount's grants (role rules
/// through bindings, with their scope) must equal what the component uses, with no wildcard.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct RBACTests {
    @Test("deploy/ grants exactly the documented verbs, without wildcards")
    func leastPrivilege() throws {
        let result = try DeployCheck.run(["rbac"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok rbac: 3 roles, no wildcard"), "\(result.stdout)")
    }

    @Test("grants: each ServiceAccount's grants as JSON, what the end-to-end tests hold the binaries to")
    func grantsAsJSON() throws {
        let result = try DeployCheck.run(["grants"])
        #expect(result.status == 0, "\(result.stderr)")
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [[String: Any]]])
        let agent = try #require(accounts["mbcas-system/mbcas-agent"])
        let nodes = agent.first { $0["resource"] as? String == "nodes" }
        #expect(nodes?["verbs"] as? [String] == ["get", "watch"] && nodes?["scope"] as? String == "cluster")
        let leases = accounts["mbcas-system/mbcas-controller"]?.first { $0["resource"] as? String == "leases" }
        #expect(leases?["scope"] as? String == "mbcas-system", "a Role's grant is scoped to its namespace")
    }

    @Test("the checker catches", arguments: [
        Mutation(description: "a wildcard verb", kind: "ClusterRole", name: "mbcas-agent",
                 old: "  - watch\n", new: "  - \"*\"\n", expected: "rules[0].verbs: wildcard"),
        Mutation(description: "a wildcard resource", kind: "ClusterRole", name: "mbcas-controller",
                 old: "  - pods/resize\n", new: "  - \"*\"\n", expected: "rules[1].resources: wildcard"),
        Mutation(description: "a wildcard API group", kind: "ClusterRole", name: "mbcas-agent",
                 old: "  - mbcas.io\n", new: "  - \"*\"\n", expected: "rules[1].apiGroups: wildcard"),
        Mutation(description: "a verb the agent does not use", kind: "ClusterRole", name: "mbcas-agent",
                 old: "  - watch\n", new: "  - watch\n  - delete\n",
                 expected: "mbcas-agent: granted ['delete'] on pods"),
        Mutation(description: "a resource the controller does not use", kind: "ClusterRole", name: "mbcas-controller",
                 old: "  - pods\n", new: "  - pods\n  - secrets\n",
                 expected: "mbcas-controller: granted ['list', 'watch'] on secrets"),
        Mutation(description: "patch on whole pods instead of pods/resize", kind: "ClusterRole", name: "mbcas-controller",
                 old: "  - pods/resize\n", new: "  - pods\n",
                 expected: "granted ['patch'] on pods (group \"\", cluster-wide)"),
        Mutation(description: "a missing grant", kind: "ClusterRole", name: "mbcas-controller",
                 old: "  - podallocations/status\n  verbs:\n  - patch\n", new: "  - podallocations/status\n  verbs:\n",
                 expected: "lacks ['patch'] on podallocations/status"),
        Mutation(description: "a verb no binary uses (update on PodAllocations: the agent only applies)", kind: "ClusterRole",
                 name: "mbcas-agent", old: "  - create\n", new: "  - create\n  - update\n",
                 expected: "granted ['update'] on podallocations"),
        Mutation(description: "a node verb the agent does not use (it GETs its Node and watches it; never lists)", kind: "ClusterRole",
                 name: "mbcas-agent", old: "  - nodes\n  verbs:\n  - get\n", new: "  - nodes\n  verbs:\n  - get\n  - list\n",
                 expected: "granted ['list'] on nodes"),
        Mutation(description: "no get on nodes (the agent's read of its allocatable cpu at start)", kind: "ClusterRole",
                 name: "mbcas-agent", old: "  - nodes\n  verbs:\n  - get\n", new: "  - nodes\n  verbs:\n",
                 expected: "lacks ['get'] on nodes"),
        Mutation(description: "a lease verb beyond get/create/update", kind: "Role", name: "mbcas-controller-leader-election",
                 old: "  - get\n", new: "  - get\n  - delete\n", expected: "granted ['delete'] on leases"),
        Mutation(description: "a binding to a role outside the manifests", kind: "ClusterRoleBinding", name: "mbcas-agent",
                 old: "kind: ClusterRole\n  name: mbcas-agent", new: "kind: ClusterRole\n  name: cluster-admin",
                 expected: "binds ClusterRole cluster-admin, which is not in these manifests"),
        Mutation(description: "a binding to a foreign subject", kind: "ClusterRoleBinding", name: "mbcas-controller",
                 old: "  name: mbcas-controller\n  namespace: mbcas-system", new: "  name: default\n  namespace: default",
                 expected: "is not one of MBCAS's ServiceAccounts"),
    ])
    func checkerCatches(mutation: Mutation) throws {
        let file = try DeployCheck.temporaryFile(try mutation.apply(to: DeployCheck.render()))
        let result = try DeployCheck.run(["rbac", "--input", file])
        #expect(result.status == 1, "accepted: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(mutation.expected), "\(result.stdout)\(result.stderr)")
    }
}
