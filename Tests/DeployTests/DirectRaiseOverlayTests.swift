import Foundation
import Testing

/// deploy/overlays/direct-cgroup-raise: the same install plus `--direct-cgroup-raise` on the agent
/// and the host's cgroup tree mounted read-write, which that flag needs; nothing else.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct DirectRaiseOverlayTests {
    @Test("the direct-raise overlay renders, validates and differs only by the flag and the read-write cgroup mount")
    func differsOnlyByFlagAndMount() throws {
        let result = try DeployCheck.run(["direct-raise"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok direct-raise overlay: differs from deploy/ only by --direct-cgroup-raise"), "\(result.stdout)")
        #expect(result.stdout.contains("ok direct-raise overlay schemas:"), "\(result.stdout)")
        #expect(result.stdout.contains("ok direct-raise overlay security: 2 workloads: the agent adds only BPF, PERFMON, SYS_RESOURCE"),
                "\(result.stdout)")
    }

    @Test("the checker catches", arguments: [
        Mutation(description: "an overlay that changes something else too", kind: "DaemonSet", name: "mbcas-agent",
                 old: "memory: 256Mi", new: "memory: 1Gi", expected: "limits.memory differs: '256Mi' -> '1Gi'"),
        Mutation(description: "the read-write mount without the flag", kind: "DaemonSet", name: "mbcas-agent",
                 old: "        - --direct-cgroup-raise\n", new: "", expected: "the overlay does not add --direct-cgroup-raise"),
        Mutation(description: "the flag with the cgroup tree still read-only", kind: "DaemonSet", name: "mbcas-agent",
                 old: "          readOnly: false\n", new: "          readOnly: true\n",
                 expected: "/sys/fs/cgroup must be mounted read-write"),
        Mutation(description: "another flag slipped in with it", kind: "DaemonSet", name: "mbcas-agent",
                 old: "        - --direct-cgroup-raise\n", new: "        - --direct-cgroup-raise\n        - --no-realtime\n",
                 expected: "expected --direct-cgroup-raise appended and nothing else"),
    ])
    func checkerCatches(mutation: Mutation) throws {
        let file = try DeployCheck.temporaryFile(try mutation.apply(to: DeployCheck.render("deploy/overlays/direct-cgroup-raise")))
        let result = try DeployCheck.run(["direct-raise", "--overlay-input", file])
        #expect(result.status == 1, "accepted: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(mutation.expected), "\(result.stdout)\(result.stderr)")
    }
}
