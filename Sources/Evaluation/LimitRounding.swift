/// Limit arithmetic shared by the policies that compute a limit from usage.
enum LimitRounding {
    /// `cpus` as millicores rounded up to 10 m, within [floor, cap]. A micro-millicore of float
    /// error does not round up (0.4 × 1.15 CPUs is 460 m, not 470 m).
    static func millicores(_ cpus: Double, floor: Int, cap: Int) -> Int {
        let raw = cpus.isFinite ? Swift.max(0, cpus * 1000) : Double(cap)
        let rounded = Int(((Swift.min(raw, Double(cap)) - 1e-6) / 10).rounded(.up)) * 10
        return Swift.min(cap, Swift.max(floor, rounded))
    }
}
