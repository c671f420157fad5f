/// The latency of one pod's work as a FIFO queue gives it: work offered at time t is done once the
/// pod has used as much CPU as had been offered by t, so its delay is U⁻¹(A(t)) − t, with A the
/// cumulative work offered and U the cumulative CPU used. This counts whatever held the pod back —
/// its quota, the node's contention under its weight, its threads — at the rate it really ran.
///
/// The node model's rates are constant between events, so A and U are piecewise linear with
/// breakpoints at the observed event times, and so is the delay: its maximum over a second lies at
/// one of the breakpoints of A (work offered at an event) or at an arrival finished exactly at an
/// event (A(t*) = U(event); where U is flat, the delay jumps there and the later end of the flat
/// part is the event that books it). Both are evaluated, so the peak per second is exact. The peak is
/// booked to the second the work arrived in; work still queued at the end counts its wait so far.
struct QueueDelay: Sendable {
    /// Breakpoints of A not yet served, in time order (from `head`).
    private var pending: [(time: Int, offered: Double)] = []
    private var head = 0
    /// The latest breakpoint of A already served (for interpolating A below the pending ones).
    private var served = (time: 0, offered: 0.0)
    /// The previous observation of U.
    private var last = (time: 0, used: 0.0)
    /// The peak delay of work arriving in each second, nanoseconds.
    private(set) var peaks: [Double]

    /// Slack for the float sums of A and U (CPU-nanoseconds): the node snaps tiny backlogs to 0.
    private static let slack = 1e-3

    init(seconds: Int) {
        peaks = Array(repeating: 0, count: Swift.max(1, seconds))
    }

    /// Takes the pod's cumulative offered work and CPU used at an event time `time`.
    mutating func observe(time: Int, offered: Double, used: Double) {
        pending.append((time, offered))
        // A breakpoints served during (last, time]: U is linear in between.
        while head < pending.count, pending[head].offered <= used + Self.slack {
            let point = pending[head]
            let rise = used - last.used
            let crossing = point.offered <= last.used || rise <= 0
                ? Double(last.time)
                : Double(last.time) + (point.offered - last.used) / rise * Double(time - last.time)
            book(arrival: point.time, delay: crossing - Double(point.time), endsSecondBefore: true)
            served = point
            head += 1
        }
        // Work is still queued: the work just above the level U reached now, A(t*) = U(time), is
        // done now at the earliest (later if U stays flat: a later event books more).
        if head < pending.count {
            let next = pending[head]
            let arrival = Double(served.time) + Swift.max(0, used - served.offered) / (next.offered - served.offered)
                * Double(next.time - served.time)
            book(arrival: Int(arrival), delay: Double(time) - arrival, endsSecondBefore: false)
        }
        last = (time, used)
        if head > 1024, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
    }

    /// Work still queued at the end (`time`): the wait so far, a lower bound of its delay (the
    /// oldest queued work's, and each breakpoint's; every whole second is a breakpoint in a run,
    /// as period boundaries are events).
    mutating func finish(at time: Int) {
        guard head < pending.count else { return }
        let next = pending[head]
        let oldest = Double(served.time) + Swift.max(0, last.used - served.offered) / (next.offered - served.offered)
            * Double(next.time - served.time)
        book(arrival: Int(oldest), delay: Double(time) - oldest, endsSecondBefore: false)
        for point in pending[head...] { book(arrival: point.time, delay: Double(time - point.time), endsSecondBefore: true) }
    }

    /// Books `delay` to the second `arrival` lies in. With `endsSecondBefore` (the delay of the work
    /// offered up to and including that instant, i.e. the time U first reaches A(arrival)), an
    /// arrival at a whole second is also the supremum of the second before it; a delay of work just
    /// above a level (where U sits flat) belongs to the later second only.
    private mutating func book(arrival: Int, delay: Double, endsSecondBefore: Bool) {
        let second = Swift.max(0, arrival / SimTime.second)
        if second < peaks.count { peaks[second] = Swift.max(peaks[second], delay) }
        if endsSecondBefore, arrival % SimTime.second == 0, second >= 1 {
            let before = Swift.min(second - 1, peaks.count - 1)
            peaks[before] = Swift.max(peaks[before], delay)
        }
    }
}
