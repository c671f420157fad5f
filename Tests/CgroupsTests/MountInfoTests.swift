import Testing

@testable import Cgroups

@Suite struct MountInfoTests {
    @Test func parsesEveryLineOfThisMachine() throws {
        let entries = try MountInfo.parse(Fixtures.mountInfoThisMachine)
        let lineCount = Fixtures.mountInfoThisMachine.split(separator: "\n").count
        #expect(entries.count == lineCount)
        let cpu = try #require(entries.first { $0.mountPoint == "/sys/fs/cgroup/cpu" })
        #expect(cpu.fsType == "cgroup")
        #expect(cpu.superOptions == ["rw", "cpu"])
        #expect(cpu.root == "/")
        #expect(cpu.mountID == 32)
        #expect(cpu.parentID == 31)
        #expect(cpu.device == "0:29")
        #expect(cpu.mountOptions == ["rw", "relatime"])
        #expect(cpu.optionalFields.isEmpty)
        #expect(cpu.source == "cgroup")
    }

    @Test func keepsOptionalFieldsApart() throws {
        let entries = try MountInfo.parse(Fixtures.mountInfoSystemdV2)
        let cgroup = try #require(entries.first { $0.fsType == "cgroup2" })
        #expect(cgroup.optionalFields == ["shared:9"])
        #expect(cgroup.superOptions == ["rw", "nsdelegate", "memory_recursiveprot"])
        // nsfs line: the root field is not a path.
        let netns = try #require(entries.first { $0.fsType == "nsfs" })
        #expect(netns.root == "net:[4026532571]")
    }

    @Test func decodesOctalEscapes() throws {
        let entries = try MountInfo.parse(Fixtures.mountInfoContainerBindMounts)
        let config = try #require(entries.first { $0.fsType == "ext4" })
        #expect(config.mountPoint == "/etc/my config")
        #expect(config.root.hasSuffix("/kubernetes.io config"))
        #expect(MountInfo.unescape("a\\134b\\011c") == "a\\b\tc")
        // Not an escape: left as is.
        #expect(MountInfo.unescape("x\\9yz") == "x\\9yz")
        #expect(MountInfo.unescape("end\\04") == "end\\04")
    }

    @Test func skipsBlankLines() throws {
        let text = "\n" + Fixtures.mountInfoHybrid + "\n\n"
        #expect(try MountInfo.parse(text).count == Fixtures.mountInfoHybrid.split(separator: "\n").count)
    }

    @Test(arguments: [
        "22 27 0:21 / /proc rw,relatime proc proc rw",  // no separator
        "22 27 0:21 / /proc rw,relatime - proc proc",  // too few fields after the separator
        "x 27 0:21 / /proc rw,relatime - proc proc rw",  // non-numeric id
        "22 27 021 / /proc rw,relatime - proc proc rw",  // device without ':'
        "22 27 0:21 / /proc - proc proc rw",  // mount options missing
    ])
    func rejectsMalformedLines(line: String) throws {
        let text = Fixtures.mountInfoHybrid + "\n" + line + "\n"
        let error = try #require(throws: CgroupError.self) { try MountInfo.parse(text, path: "/proc/self/mountinfo") }
        #expect(error.code == .malformedContent)
        let lineNumber = Fixtures.mountInfoHybrid.split(separator: "\n").count + 1
        #expect(error.message.contains("/proc/self/mountinfo:\(lineNumber)"))
        #expect(error.message.contains(line))
    }

    @Test func readsTheLiveTable() throws {
        let entries = try MountInfo.read()
        #expect(entries.contains { $0.mountPoint == "/" })
        #expect(entries.allSatisfy { $0.mountPoint.hasPrefix("/") })
    }
}
