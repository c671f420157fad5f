/// One line of `/proc/<pid>/mountinfo` (see proc(5)).
///
/// Format: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`: mount id,
/// parent id, major:minor, root, mount point, mount options, zero or more optional fields, a `-`
/// separator, filesystem type, source, super options.
public struct MountInfoEntry: Sendable, Hashable {
    /// Unique id of the mount.
    public var mountID: Int
    /// Id of the parent mount.
    public var parentID: Int
    /// `major:minor` of the filesystem's device.
    public var device: String
    /// The path inside the filesystem that is the root of this mount (for cgroupfs: the cgroup the
    /// mount exposes, not always `/` inside a container).
    public var root: String
    /// Where it is mounted, with proc's octal escapes (`\040` for a space) decoded.
    public var mountPoint: String
    /// Per-mount options (`rw,relatime`).
    public var mountOptions: [String]
    /// Optional fields such as `shared:2` or `master:1`.
    public var optionalFields: [String]
    /// Filesystem type (`cgroup`, `cgroup2`, `ext4`...).
    public var fsType: String
    /// Mount source (`cgroup`, `/dev/vda`...).
    public var source: String
    /// Per-superblock options; for cgroup v1 these name the controllers (`rw,cpu,cpuacct`).
    public var superOptions: [String]

    /// Creates an entry from its fields.
    public init(
        mountID: Int, parentID: Int, device: String, root: String, mountPoint: String,
        mountOptions: [String], optionalFields: [String], fsType: String, source: String,
        superOptions: [String]
    ) {
        self.mountID = mountID
        self.parentID = parentID
        self.device = device
        self.root = root
        self.mountPoint = mountPoint
        self.mountOptions = mountOptions
        self.optionalFields = optionalFields
        self.fsType = fsType
        self.source = source
        self.superOptions = superOptions
    }
}

/// Parser for `/proc/self/mountinfo`.
public enum MountInfo {
    /// The live mount table of this process.
    public static let path = "/proc/self/mountinfo"

    /// Parses mountinfo text; blank lines are skipped, any other line that lacks the mandatory fields
    /// is rejected with its line number.
    public static func parse(_ text: String, path: String? = nil) throws(CgroupError) -> [MountInfoEntry] {
        var entries: [MountInfoEntry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let entry = parseLine(line) else {
                throw .malformed("mountinfo line", line: String(line), lineNumber: index + 1, path: path)
            }
            entries.append(entry)
        }
        return entries
    }

    /// Reads and parses the live table at `path`.
    public static func read(path: String = MountInfo.path) throws(CgroupError) -> [MountInfoEntry] {
        try parse(FileIO.read(path), path: path)
    }

    private static func parseLine(_ line: Substring) -> MountInfoEntry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        // Six fixed fields, the separator, then three more.
        guard fields.count >= 10, let separator = fields.firstIndex(of: "-"), separator >= 6,
            fields.count - separator == 4,
            let mountID = Int(fields[0]), let parentID = Int(fields[1]),
            fields[2].contains(":")
        else { return nil }
        return MountInfoEntry(
            mountID: mountID,
            parentID: parentID,
            device: String(fields[2]),
            root: unescape(fields[3]),
            mountPoint: unescape(fields[4]),
            mountOptions: fields[5].split(separator: ",").map(String.init),
            optionalFields: fields[6..<separator].map(String.init),
            fsType: String(fields[separator + 1]),
            source: unescape(fields[separator + 2]),
            superOptions: fields[separator + 3].split(separator: ",").map(String.init))
    }

    /// Decodes the kernel's `\ooo` octal escapes (used for space, tab, newline and backslash).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), let value = octal(utf8[(i + 1)..<min(i + 4, utf8.count)]) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value: UInt16 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + UInt16(digit - UInt8(ascii: "0"))
        }
        return value <= 0xFF ? UInt8(value) : nil
    }
}
