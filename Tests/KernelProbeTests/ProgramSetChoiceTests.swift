import Logging
import TestSupport
import Testing
@testable import KernelProbe

/// `auto` picks the program set from the kernel's features before loading; a
/// failed load never silently turns into the costlier raw_tp set.
@Suite("Program set choice")
struct ProgramSetChoiceTests {
    @Test("auto: tp_btf when the kernel has it all, else raw_tp with the missing feature as the reason")
    func automatic() {
        #expect(ProgramSetChoice.resolve(.automatic) { nil } == ProgramSetChoice(mode: .btf))
        let fallback = ProgramSetChoice.resolve(.automatic) { "no task-local storage" }
        #expect(fallback == ProgramSetChoice(mode: .rawTracepoint, fallbackReason: "no task-local storage"))
    }

    @Test("a set asked for by name is loaded as asked, without probing the kernel",
          arguments: [AttachMode.btf, .rawTracepoint, .baseline])
    func explicit(mode: AttachMode) {
        let choice = ProgramSetChoice.resolve(mode) {
            Issue.record("the kernel was probed for an explicit set")
            return "unused"
        }
        #expect(choice == ProgramSetChoice(mode: mode))
    }

    @Test("this kernel has what tp_btf needs, so auto loads tp_btf and reports no fallback",
          .enabled(if: Privileged.canRun))
    func thisKernel() throws {
        try Privileged.require()
        #expect(ProgramSetChoice.kernelLacksBTFTracepoints() == nil)
        let probe = try KernelProbe.load(
            ProbeConfiguration(pinRoot: "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))"),
            logger: Logger(label: "test.choice"))
        defer { probe.close(keepPins: false) }
        #expect(probe.attachMode == .btf)
        #expect(probe.fallbackReason == nil)
    }
}
