import Testing
@testable import KernelProbe

/// The scheduler options the probe reads fields of, found in the kernel's BTF.
@Suite("Kernel features")
struct KernelFeaturesTests {
    @Test("each missing optional option names its kernel option and what goes uncounted")
    func consequences() {
        #expect(MissingKernelFeatures().consequences.isEmpty)
        let both: MissingKernelFeatures = [.cfsBandwidth, .schedInfo]
        #expect(both.consequences.count == 2)
        #expect(both.consequences[0].contains("CONFIG_CFS_BANDWIDTH") && both.consequences[0].contains("throttling"))
        #expect(both.consequences[1].contains("CONFIG_SCHED_INFO") && both.consequences[1].contains("run-queue wait"))
    }

    /// Debian's kernels (this machine's and the test VM's) have all three options.
    @Test("this kernel's BTF has cfs_rq::tg, task_group::cfs_bandwidth and task_struct::sched_info")
    func thisKernel() {
        #expect(MissingKernelFeatures.ofRunningKernel() == [])
    }
}
