import Foundation
import Testing

/// The agent DaemonSet adds exactly CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE to uid 0 with all
/// else dropped, is not privileged, cannot escalate, has a read-only root and no host
/// namespaces; the controller runs non-root with no capabilities under RuntimeDefault seccomp.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct SecurityContextTests {
    @Test("deploy/ passes: documented capabilities only, nothing privileged")
    func deployPasses() throws {
        let result = try DeployCheck.run(["security"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("the agent adds only BPF, PERFMON, SYS_RESOURCE (drops ALL)"), "\(result.stdout)")
    }

    @Test("the checker catches", arguments: [
        Mutation(description: "no quota for the critical priority class", kind: "ResourceQuota", name: "mbcas-critical-pods",
                 old: "      values:\n      - system-node-critical\n", new: "      values:\n      - system-cluster-critical\n",
                 expected: "priorityClassName system-node-critical in namespace mbcas-system needs a ResourceQuota"),
        Mutation(description: "a privileged agent", kind: "DaemonSet", name: "mbcas-agent",
                 old: "privileged: false", new: "privileged: true", expected: "container agent: privileged: true"),
        Mutation(description: "an extra agent capability", kind: "DaemonSet", name: "mbcas-agent",
                 old: "            - BPF\n", new: "            - BPF\n            - NET_ADMIN\n",
                 expected: "capabilities.add is ['BPF', 'NET_ADMIN', 'PERFMON', 'SYS_RESOURCE']"),
        Mutation(description: "SYS_ADMIN outside the overlay", kind: "DaemonSet", name: "mbcas-agent",
                 old: "            - BPF\n", new: "            - BPF\n            - CAP_SYS_ADMIN\n",
                 expected: "allowPrivilegeEscalation false with SYS_ADMIN: refused by the API"),
        Mutation(description: "a missing agent capability", kind: "DaemonSet", name: "mbcas-agent",
                 old: "            - PERFMON\n", new: "", expected: "capabilities.add is ['BPF', 'SYS_RESOURCE']"),
        Mutation(description: "capabilities not dropped", kind: "DaemonSet", name: "mbcas-agent",
                 old: "            drop:\n            - ALL\n", new: "", expected: "capabilities.drop must be [ALL]"),
        Mutation(description: "privilege escalation allowed", kind: "DaemonSet", name: "mbcas-agent",
                 old: "allowPrivilegeEscalation: false", new: "allowPrivilegeEscalation: true",
                 expected: "container agent: allowPrivilegeEscalation must be false"),
        Mutation(description: "a writable root filesystem", kind: "DaemonSet", name: "mbcas-agent",
                 old: "readOnlyRootFilesystem: true", new: "readOnlyRootFilesystem: false",
                 expected: "container agent: readOnlyRootFilesystem must be true"),
        Mutation(description: "the host network", kind: "DaemonSet", name: "mbcas-agent",
                 old: "hostNetwork: false", new: "hostNetwork: true", expected: "container agent: hostNetwork: true"),
        Mutation(description: "the host's root directory", kind: "DaemonSet", name: "mbcas-agent",
                 old: "path: /sys/kernel/btf", new: "path: /", expected: "hostPath / is not one the agent needs"),
        Mutation(description: "a writable cgroup tree", kind: "DaemonSet", name: "mbcas-agent",
                 old: "          name: cgroup\n          readOnly: true\n", new: "          name: cgroup\n",
                 expected: "hostPath /sys/fs/cgroup must be mounted readOnly"),
        Mutation(description: "cgroup v1 controllers left writable", kind: "DaemonSet", name: "mbcas-agent",
                 old: "          recursiveReadOnly: IfPossible\n", new: "",
                 expected: "hostPath /sys/fs/cgroup must be recursiveReadOnly"),
        Mutation(description: "seccomp unconfined on the agent", kind: "DaemonSet", name: "mbcas-agent",
                 old: "type: RuntimeDefault", new: "type: Unconfined", expected: "seccompProfile must be RuntimeDefault (is Unconfined)"),
        Mutation(description: "a root controller", kind: "Deployment", name: "mbcas-controller",
                 old: "          runAsNonRoot: true", new: "          runAsNonRoot: false",
                 expected: "container controller: runAsNonRoot must be true"),
        Mutation(description: "a controller capability", kind: "Deployment", name: "mbcas-controller",
                 old: "            - ALL\n", new: "            - ALL\n            add:\n            - NET_RAW\n",
                 expected: "adds capabilities ['NET_RAW']; the controller needs none"),
        Mutation(description: "seccomp unconfined on the controller", kind: "Deployment", name: "mbcas-controller",
                 old: "type: RuntimeDefault", new: "type: Unconfined", expected: "seccompProfile must be RuntimeDefault (is Unconfined)"),
        Mutation(description: "a controller without a standby", kind: "Deployment", name: "mbcas-controller",
                 old: "replicas: 2", new: "replicas: 1", expected: "fewer than 2 replicas"),
    ])
    func checkerCatches(mutation: Mutation) throws {
        let file = try DeployCheck.temporaryFile(try mutation.apply(to: DeployCheck.render()))
        let result = try DeployCheck.run(["security", "--input", file])
        #expect(result.status == 1, "accepted: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(mutation.expected), "\(result.stdout)\(result.stderr)")
    }

    @Test("the agent and controller run the decided commands, with the node and pod names from the downward API")
    func commands() throws {
        let rendered = try DeployCheck.render()
        #expect(rendered.contains("""
                  - args:
                    - agent
                    - --kubernetes
                    - --node-name
                    - $(NODE_NAME)
                    - --metrics-address
                    - 0.0.0.0:9464
                    - --pin-root
                    - /run/mbcas/bpffs/mbcas
            """))
        // The cgroup v1 controllers' mount points are not /sys/fs/cgroup: the agent's default
        // (the cpu controller's mount point) is right on v1 and v2, a fixed root is not.
        #expect(!rendered.contains("--cgroup-root"))
        #expect(rendered.contains("- name: NODE_NAME\n          valueFrom:\n            fieldRef:\n              fieldPath: spec.nodeName"))
        #expect(rendered.contains("""
                  - args:
                    - controller
                    - --namespace
                    - $(POD_NAMESPACE)
                    - --identity
                    - $(POD_NAME)
                    - --metrics-address
                    - 0.0.0.0:9465
            """))
        #expect(rendered.contains("image: ghcr.io/mbcas/mbcas:"))
    }
}
