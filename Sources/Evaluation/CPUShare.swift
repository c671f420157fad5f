/// How the kernel divides a node's CPUs between runnable cgroups when they want more than there is:
/// weighted max-min fairness (CFS shares, as set from requests by the kubelet). Each cgroup gets
/// min(want, w·level), with the level chosen so that the CPUs are used up; nobody gets more than it
/// wants and what one does not use goes to the others in proportion to their weights.
///
/// This is the fluid limit of CFS over many CPUs; it ignores per-CPU run queues, migration and
/// wake-up placement. Its answer is the same as Market's `WaterFilling` with bids = weights,
/// floors 0 and caps = wants (the tests check that), but it is a model of the kernel, not of the
/// market, and it runs at every event of the simulation, so it is a small allocation-free loop.
public enum CPUShare {
    /// Divides `capacity` CPUs.
    /// - Parameters:
    ///   - wants: Runnable CPUs per cgroup (≥ 0).
    ///   - weights: CFS weights (> 0).
    ///   - capacity: The node's CPUs.
    ///   - rates: Receives the CPUs each cgroup runs on (same count as `wants`).
    ///   - order: Scratch space of the same count (reused across calls to avoid allocation).
    public static func divide(wants: [Double], weights: [Double], capacity: Double,
                              into rates: inout [Double], order: inout [Int]) {
        let count = wants.count
        var total = 0.0
        for index in 0..<count { total += wants[index] }
        if total <= capacity {
            for index in 0..<count { rates[index] = wants[index] }
            return
        }
        // Progressive filling: visit cgroups by want/weight; each takes its want while that is below
        // its weighted part of what is left, and the rest split what remains by weight.
        for index in 0..<count { order[index] = index }
        order.sort { wants[$0] / weights[$0] < wants[$1] / weights[$1] }
        var left = capacity
        var weightLeft = 0.0
        for index in 0..<count { weightLeft += weights[index] }
        for position in 0..<count {
            let index = order[position]
            let part = weightLeft > 0 ? left * weights[index] / weightLeft : 0
            let rate = Swift.min(wants[index], part)
            rates[index] = rate
            left = Swift.max(0, left - rate)
            weightLeft -= weights[index]
        }
    }

    /// Divides `capacity` CPUs and returns the rates (allocating; for tests and one-off use).
    public static func divide(wants: [Double], weights: [Double], capacity: Double) -> [Double] {
        var rates = [Double](repeating: 0, count: wants.count)
        var order = [Int](repeating: 0, count: wants.count)
        divide(wants: wants, weights: weights, capacity: capacity, into: &rates, order: &order)
        return rates
    }
}
