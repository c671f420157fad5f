import Glibc
import Testing

@testable import Cgroups

@Suite struct CgroupHierarchyTests {
    @Test func thisMachineUsesTheV1CPUMount() throws {
        let hierarchy = try CgroupHierarchy.discover(mountInfo: Fixtures.mountInfoThisMachine) { mountPoint in
            mountPoint == "/sys/fs/cgroup/unified" ? Fixtures.unifiedControllersThisMachine : nil
        }
        #expect(hierarchy == CgroupHierarchy(version: .v1, mountPoint: "/sys/fs/cgroup/cpu"))
    }

    @Test func exactControllerMatchDoesNotConfuseCpuacctOrCpuset() throws {
        let cpuacct = try CgroupHierarchy.discover(controller: "cpuacct", mountInfo: Fixtures.mountInfoThisMachine) { _ in nil }
        #expect(cpuacct.mountPoint == "/sys/fs/cgroup/cpuacct")
        let cpuset = try CgroupHierarchy.discover(controller: "cpuset", mountInfo: Fixtures.mountInfoThisMachine) { _ in nil }
        #expect(cpuset.mountPoint == "/sys/fs/cgroup/cpuset")
    }

    @Test func systemdV2NodeUsesTheUnifiedMount() throws {
        var asked: [String] = []
        let hierarchy = try CgroupHierarchy.discover(mountInfo: Fixtures.mountInfoSystemdV2) { mountPoint in
            asked.append(mountPoint)
            return Fixtures.controllersV2Node
        }
        #expect(hierarchy == CgroupHierarchy(version: .v2, mountPoint: "/sys/fs/cgroup"))
        #expect(asked == ["/sys/fs/cgroup"])
    }

    @Test func v1NodeWithCoMountedCpuacct() throws {
        let hierarchy = try CgroupHierarchy.discover(mountInfo: Fixtures.mountInfoV1CPUAcct) { _ in nil }
        #expect(hierarchy == CgroupHierarchy(version: .v1, mountPoint: "/sys/fs/cgroup/cpu,cpuacct"))
        let cpuacct = try CgroupHierarchy.discover(controller: "cpuacct", mountInfo: Fixtures.mountInfoV1CPUAcct) { _ in nil }
        #expect(cpuacct == hierarchy)
    }

    @Test func hybridNodePrefersTheV1ControllerOverTheEmptyUnifiedTree() throws {
        let hierarchy = try CgroupHierarchy.discover(mountInfo: Fixtures.mountInfoHybrid) { _ in "" }
        #expect(hierarchy == CgroupHierarchy(version: .v1, mountPoint: "/sys/fs/cgroup/cpu,cpuacct"))
    }

    @Test func v2ControllersMustListCpuAsAWord() throws {
        // "cpuset" alone does not mean "cpu".
        let error = try #require(throws: CgroupError.self) {
            try CgroupHierarchy.discover(mountInfo: Fixtures.mountInfoSystemdV2) { _ in "cpuset io memory\n" }
        }
        #expect(error.code == .controllerNotMounted)
    }

    @Test func prefersTheBindMountOfTheRealRoot() throws {
        let hierarchy = try CgroupHierarchy.discover(mountInfo: Fixtures.mountInfoContainerBindMounts) { _ in
            Fixtures.controllersV2Node
        }
        #expect(hierarchy == CgroupHierarchy(version: .v2, mountPoint: "/host/sys/fs/cgroup"))
    }

    @Test func missingControllerErrorNamesWhatWasSeen() throws {
        let withoutCPU = Fixtures.mountInfoThisMachine.split(separator: "\n")
            .filter { !$0.hasSuffix(" rw,cpu") }.joined(separator: "\n")
        let error = try #require(throws: CgroupError.self) {
            try CgroupHierarchy.discover(mountInfo: withoutCPU) { _ in Fixtures.unifiedControllersThisMachine }
        }
        #expect(error.code == .controllerNotMounted)
        #expect(error.message.contains("'cpu'"))
        #expect(error.message.contains("/sys/fs/cgroup/unified"))
        #expect(error.message.contains("/sys/fs/cgroup/cpuacct (rw,cpuacct)"))
    }

    @Test func noCgroupMountsAtAll() throws {
        let error = try #require(throws: CgroupError.self) {
            try CgroupHierarchy.discover(mountInfo: "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n") { _ in nil }
        }
        #expect(error.code == .controllerNotMounted)
        #expect(error.message.contains("v1 mounts: none"))
        #expect(error.message.contains("cgroup2 mounts: none"))
    }

    @Test func absolutePaths() {
        let hierarchy = CgroupHierarchy(version: .v2, mountPoint: "/sys/fs/cgroup")
        #expect(hierarchy.absolutePath(of: "/") == "/sys/fs/cgroup")
        #expect(hierarchy.absolutePath(of: "") == "/sys/fs/cgroup")
        #expect(hierarchy.absolutePath(of: "/a/b/") == "/sys/fs/cgroup/a/b")
        #expect(hierarchy.absolutePath(of: "a//b") == "/sys/fs/cgroup/a/b")
        #expect(CgroupHierarchy(version: .v2, mountPoint: "/").absolutePath(of: "/a") == "/a")
    }

    @Test func liveDiscoveryFindsAHierarchyWithCPUFiles() throws {
        let hierarchy = try CgroupHierarchy.discover()
        let limitFile = hierarchy.version == .v1 ? "cpu.cfs_quota_us" : "cpu.max"
        // The root of a v2 tree has no cpu.max; check a file every cpu hierarchy root has instead.
        #expect(access(hierarchy.mountPoint + "/cpu.stat", F_OK) == 0)
        if hierarchy.version == .v1 {
            #expect(access(hierarchy.mountPoint + "/" + limitFile, F_OK) == 0)
        }
        let entries = try MountInfo.read()
        #expect(entries.contains { $0.mountPoint == hierarchy.mountPoint })
    }
}
