/// Turns a baseline's detections into latency samples against the throttle episodes the probe
/// pushed, all on CLOCK_MONOTONIC.
///
/// A detection at time t is charged to the oldest episode that baseline has not seen yet (and
/// that began before t): its sample is t − that episode's start, how long the stall had gone
/// unnoticed. A detection with no such episode (a PSI event for some other stall) yields no
/// sample and is counted apart. Then the detection marks episodes seen:
///
/// - `.ended` (`cpu.stat`): the oldest one, and every other that had ended by t. The kernel adds
///   an episode to `nr_throttled` and `throttled_time` only when it unthrottles the cgroup, so a
///   poll cannot have seen an episode still in progress. (The oldest is taken even if its end
///   event came later: the unthrottle that the poll saw precedes the task's switch-in, which is
///   when the probe stamps the end.)
/// - `.begun` (PSI): every episode that began before t, since stall time accrues while an
///   episode lasts.
enum EpisodeMatcher {
    /// One throttle episode as the probe pushed it.
    struct Episode: Sendable, Equatable {
        /// Kernel timestamp of the throttle start (CLOCK_MONOTONIC ns).
        var start: UInt64
        /// Kernel timestamp of its end (the next switch-in), if it was pushed.
        var end: UInt64?
    }

    /// What a detection tells about episodes other than the oldest.
    enum Coverage: Sendable { case ended, begun }

    /// What the matching found.
    struct Result: Sendable, Equatable {
        /// One latency per detection that had an unseen episode before it, ns.
        var samplesNanos: [UInt64] = []
        /// Episodes marked seen.
        var episodesSeen = 0
        /// Episodes never seen by the end of the run.
        var episodesMissed = 0
        /// Detections with no unseen episode before them.
        var unmatchedDetections = 0
    }

    /// Matches `detections` (CLOCK_MONOTONIC ns, any order) to `episodes` (any order).
    static func match(episodes: [Episode], detections: [UInt64], coverage: Coverage) -> Result {
        let episodes = episodes.sorted { $0.start < $1.start }
        var seen = [Bool](repeating: false, count: episodes.count)
        var result = Result()
        var oldestUnseen = 0
        for t in detections.sorted() {
            while oldestUnseen < episodes.count, seen[oldestUnseen] { oldestUnseen += 1 }
            guard oldestUnseen < episodes.count, episodes[oldestUnseen].start < t else {
                result.unmatchedDetections += 1
                continue
            }
            result.samplesNanos.append(t - episodes[oldestUnseen].start)
            var i = oldestUnseen
            while i < episodes.count, episodes[i].start < t {
                let covered = i == oldestUnseen || coverage == .begun || (episodes[i].end.map { $0 <= t } ?? false)
                if covered, !seen[i] {
                    seen[i] = true
                    result.episodesSeen += 1
                }
                i += 1
            }
        }
        result.episodesMissed = episodes.count - result.episodesSeen
        return result
    }
}
