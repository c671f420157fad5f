import Glibc
import Testing

@testable import Cgroups

/// Directory handling that does not need a real cgroup.
@Suite struct CgroupDirectoryTests {
    @Test func pathArithmetic() {
        let directory = CgroupDirectory(path: "/sys/fs/cgroup/cpu/a/b/")
        #expect(directory.path == "/sys/fs/cgroup/cpu/a/b")
        #expect(directory.name == "b")
        #expect(directory.parent == CgroupDirectory(path: "/sys/fs/cgroup/cpu/a"))
        #expect(directory.child("c").path == "/sys/fs/cgroup/cpu/a/b/c")
        #expect(directory.file("cgroup.procs") == "/sys/fs/cgroup/cpu/a/b/cgroup.procs")
        #expect(CgroupDirectory(path: "/").parent == nil)
        #expect(CgroupDirectory(path: "/x").parent == CgroupDirectory(path: "/"))
        let hierarchy = CgroupHierarchy(version: .v2, mountPoint: "/sys/fs/cgroup")
        #expect(CgroupDirectory(hierarchy: hierarchy, relativePath: "kubepods.slice").path == "/sys/fs/cgroup/kubepods.slice")
    }

    @Test func createIsIdempotentAndListsChildren() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let parent = CgroupDirectory(path: dir.path)
        let child = try parent.createChild("one")
        try child.create()  // EEXIST is fine
        try parent.createChild("two")
        try dir.writeFile("notes", "not a cgroup")
        #expect(try parent.children() == ["one", "two"])
        #expect(child.exists)
        #expect(!parent.child("three").exists)
    }

    @Test(arguments: ["", ".", "..", "a/b"])
    func rejectsBadChildNames(name: String) throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let error = try #require(throws: CgroupError.self) { try CgroupDirectory(path: dir.path).createChild(name) }
        #expect(error.code == .invalidValue)
    }

    @Test func createWithoutParentNamesThePath() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let error = try #require(throws: CgroupError.self) { try CgroupDirectory(path: dir.path + "/x/y").create() }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.message.contains(dir.path + "/x/y"))
    }

    @Test func pidsParsingRejectsGarbage() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.writeFile("cgroup.procs", "12\n7\n12\n")
        #expect(try CgroupDirectory(path: dir.path).pids() == [7, 12])
        try dir.writeFile("cgroup.procs", "12\nabc\n")
        let error = try #require(throws: CgroupError.self) { try CgroupDirectory(path: dir.path).pids() }
        #expect(error.code == .malformedContent)
        #expect(error.message.contains("abc"))
    }

    @Test func removingWhatIsAlreadyGoneSucceeds() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try CgroupDirectory(path: dir.path + "/never-created").remove()
        #expect(!CgroupDirectory(path: dir.path + "/never-created").exists)
    }

    @Test func refusesToRemoveTheRoot() throws {
        let error = try #require(throws: CgroupError.self) { try CgroupDirectory(path: "/").remove() }
        #expect(error.code == .invalidValue)
    }
}
