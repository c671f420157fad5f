import ArgumentParser

/// The `mbcas` command: one binary for every part of MBCAS.
@main
struct MBCAS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mbcas",
        abstract: "Move CPU between co-located containers the moment the kernel says one is starving.",
        discussion: """
            MBCAS loads precompiled CO-RE eBPF probes on the scheduler's tracepoints, which push \
            per-cgroup CFS throttling and run-queue wait to user space as it happens.

            Start with `mbcas demo` or `mbcas probe` (root) to watch stalls on this machine, and \
            `mbcas allocate` to see how the market divides a node's CPU. On a host, `mbcas agent` \
            writes CPU limits into the cgroups itself; on Kubernetes, `mbcas agent --kubernetes` \
            (a DaemonSet) writes PodAllocations and `mbcas controller` applies them through \
            in-place pod resize (deploy/ has the manifests).
            """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, ProbeCommand.self, AgentCommand.self, ControllerCommand.self, TopCommand.self,
            AllocateCommand.self, SimulateCommand.self, WorkloadCommand.self,
        ]
    )
}
