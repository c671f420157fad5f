import Glibc
import Testing

@testable import Cgroups

/// The walker on a plain directory tree (no privileges needed).
@Suite struct CgroupIndexTests {
    /// Builds /tmp/mbcas-test-XXXXXX with a small tree and some files.
    private func makeTree() throws -> TempDirectory {
        let dir = try TempDirectory()
        for path in ["a/b/c", "a/d", "e", "f/g/h/i"] { try dir.makeDirectory(path) }
        try dir.writeFile("cpu.stat", "nr_periods 0\n")
        try dir.writeFile("a/cgroup.procs", "")
        return dir
    }

    @Test func mapsEveryDirectoryToItsInode() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let index = try CgroupIndex(mountPoint: dir.path)
        let expected = ["/", "/a", "/a/b", "/a/b/c", "/a/d", "/e", "/f", "/f/g", "/f/g/h", "/f/g/h/i"]
        #expect(Set(index.idsByPath.keys) == Set(expected))
        #expect(index.count == expected.count)
        for path in expected {
            let absolute = path == "/" ? dir.path : dir.path + path
            let inode = try #require(inodeNumber(absolute))
            #expect(index.id(forPath: path) == inode)
            #expect(index.path(forID: inode) == path)
            #expect(index.absolutePath(forID: inode) == absolute)
            #expect(try cgroupID(of: absolute) == inode)
        }
        // Files are not cgroups.
        #expect(index.id(forPath: "/cpu.stat") == nil)
    }

    @Test func acceptsAnySpellingOfARelativePath() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let index = try CgroupIndex(mountPoint: dir.path + "/")
        let id = try #require(index.id(forPath: "/a/b"))
        #expect(index.id(forPath: "a/b") == id)
        #expect(index.id(forPath: "/a/b/") == id)
        #expect(index.id(forPath: "//a/./b") == id)
        #expect(index.absolutePath(forID: id) == dir.path + "/a/b")
    }

    @Test func indexesOnlyTheRequestedSubtree() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let index = try CgroupIndex(mountPoint: dir.path, subtree: "a")
        #expect(Set(index.idsByPath.keys) == ["/a", "/a/b", "/a/b/c", "/a/d"])
        #expect(index.scope == "/a")
    }

    @Test func refreshPicksUpNewAndDropsRemovedDirectories() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path)
        let unrelated = index.idsByPath.filter { !$0.key.hasPrefix("/a") }
        try dir.makeDirectory("a/b/new")
        #expect(rmdir(dir.path + "/a/d") == 0)
        try index.refresh(subtree: "/a")
        #expect(index.id(forPath: "/a/b/new") == inodeNumber(dir.path + "/a/b/new"))
        #expect(index.id(forPath: "/a/d") == nil)
        for (path, id) in unrelated { #expect(index.id(forPath: path) == id) }
        // Id and path maps stay mirror images.
        #expect(index.pathsByID.count == index.idsByPath.count)
        for (id, path) in index.pathsByID { #expect(index.idsByPath[path] == id) }
    }

    @Test func refreshOfAVanishedSubtreeRemovesItWithoutThrowing() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path)
        for path in ["f/g/h/i", "f/g/h", "f/g", "f"] { #expect(rmdir(dir.path + "/" + path) == 0) }
        try index.refresh(subtree: "/f")
        #expect(index.id(forPath: "/f") == nil)
        #expect(index.id(forPath: "/f/g/h/i") == nil)
        #expect(index.id(forPath: "/e") != nil)
    }

    @Test func refreshOutsideTheScopeIsIgnored() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path, subtree: "/a")
        try index.refresh(subtree: "/e")
        #expect(index.id(forPath: "/e") == nil)
        #expect(index.count == 4)
    }

    @Test func refreshOfAnAncestorRewalksTheWholeScope() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path, subtree: "/a")
        try dir.makeDirectory("a/x")
        try index.refresh(subtree: "/")
        #expect(Set(index.idsByPath.keys) == ["/a", "/a/b", "/a/b/c", "/a/d", "/a/x"])
    }

    @Test func removeDropsASubtreeWithoutIO() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path)
        index.remove(subtree: "/a/b")
        #expect(index.id(forPath: "/a/b") == nil)
        #expect(index.id(forPath: "/a/b/c") == nil)
        #expect(index.id(forPath: "/a") != nil)
        #expect(index.id(forPath: "/a/d") != nil)
        // "/a/bb" would share the prefix "/a/b" as a string; make sure only real descendants go.
        try dir.makeDirectory("a/bb")
        try index.refresh(subtree: "/a/bb")
        index.remove(subtree: "/a/b")
        #expect(index.id(forPath: "/a/bb") != nil)
    }

    @Test func directoriesVanishingDuringTheWalkAreSkipped() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path)
        // Remove /a/b/c and /a/b just before the walker reaches /a/b: it was listed by /a already.
        try index.rebuild(willVisit: { path in
            if path == dir.path + "/a/b" {
                rmdir(dir.path + "/a/b/c")
                rmdir(dir.path + "/a/b")
            }
        })
        #expect(index.id(forPath: "/a/b") == nil)
        #expect(index.id(forPath: "/a/b/c") == nil)
        #expect(index.id(forPath: "/a/d") != nil)
        #expect(index.count == 8)
    }

    @Test func missingRootThrowsButMissingSubtreeOnRefreshDoesNot() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let error = try #require(throws: CgroupError.self) { try CgroupIndex(mountPoint: dir.path + "/nope") }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.path == dir.path + "/nope")
        var index = try CgroupIndex(mountPoint: dir.path)
        let before = index.count
        try index.refresh(subtree: "/nope")
        #expect(index.count == before)
    }

    @Test func rootThatIsAFileIsRejected() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let error = try #require(throws: CgroupError.self) { try CgroupIndex(mountPoint: dir.path + "/cpu.stat") }
        #expect(error.errno == .notDirectory)
    }

    @Test func symlinksAreNotFollowed() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        #expect(symlink(dir.path + "/a", dir.path + "/e/link") == 0)
        let index = try CgroupIndex(mountPoint: dir.path)
        #expect(index.id(forPath: "/e/link") == nil)
        #expect(index.count == 10)
    }

    @Test func reusedIdReplacesTheStalePath() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        var index = try CgroupIndex(mountPoint: dir.path)
        // Rename /e to /z: same inode, new path. Refreshing only /z must drop the stale "/e" entry.
        let id = try #require(index.id(forPath: "/e"))
        #expect(rename(dir.path + "/e", dir.path + "/z") == 0)
        try index.refresh(subtree: "/z")
        #expect(index.path(forID: id) == "/z")
        #expect(index.id(forPath: "/e") == nil)
    }

    @Test func cgroupIDFollowsSymlinksAndReportsMissingPaths() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        #expect(symlink(dir.path + "/a", dir.path + "/alias") == 0)
        #expect(try cgroupID(of: dir.path + "/alias") == inodeNumber(dir.path + "/a"))
        let error = try #require(throws: CgroupError.self) { try cgroupID(of: dir.path + "/missing") }
        #expect(error.code == .systemCall)
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.message.contains(dir.path + "/missing"))
    }
}
