/// A CFS weight, the kernel's budget for a group in its continuous Fisher market: under contention
/// sibling groups get CPU in proportion to their weights, and CPU one leaves idle goes to the others.
///
/// Kept in the v1 unit, `cpu.shares`, with the kubelet's conversion from a request
/// (`MilliCPUToShares`: shares = millicores × 1024 / 1000, at least 2), so that a weight MBCAS writes
/// standalone and one the kubelet derives from a resized request mean the same thing. (cgroup v2's
/// `cpu.weight` is converted where the file is written: `Cgroups.CPUShares`.)
public struct CPUWeight: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The kernel's bounds on cpu.shares.
    public static let minimumShares = 2
    public static let maximumShares = 262_144

    /// cpu.shares, in [2, 262144].
    public let shares: Int

    /// A weight from cpu.shares, clamped to the kernel's range.
    public init(shares: Int) {
        self.shares = Swift.min(Self.maximumShares, Swift.max(Self.minimumShares, shares))
    }

    /// The weight the kubelet gives a request of `millicores`.
    public init(millicores: Double) {
        let value = (Swift.max(0, millicores) * 1024 / 1000).rounded()
        self.init(shares: value >= Double(Self.maximumShares) ? Self.maximumShares : Int(value))
    }

    /// The request, in millicores, this weight stands for.
    public var millicores: Double { Double(shares) * 1000 / 1024 }

    /// Orders by shares.
    public static func < (lhs: CPUWeight, rhs: CPUWeight) -> Bool { lhs.shares < rhs.shares }

    /// `1434 shares`.
    public var description: String { "\(shares) shares" }
}
