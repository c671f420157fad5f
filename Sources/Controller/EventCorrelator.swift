import Foundation

/// client-go's `EventCorrelator` (tools/record/events_cache.go), what every Kubernetes
/// controller's recorder runs before writing an Event, so a busy pod's Events stay a handful of
/// objects with counts instead of one new object per occurrence:
/// - aggregation (`EventAggregator`, by source, object, type and reason): from the 10th
///   different message within 10 minutes on, occurrences become one Event "(combined from
///   similar events): <latest message>" whose count grows;
/// - deduplication (`eventLogger`): an Event equal to one already written (same key and
///   message) is a PATCH of that Event's `count`, `lastTimestamp` and `message`;
/// - spam filter (`EventSourceObjectSpamFilter`): a token bucket per source and object, 25
///   Events at once, then one per 5 minutes; the rest are dropped.
///
/// Pure state, no I/O: ``EventRecorder`` asks it what to do and writes.
struct EventCorrelator: Sendable {
    /// What to write for one occurrence.
    enum Action: Sendable, Equatable {
        /// A new Event with this message (its name chosen by the recorder).
        case create(message: String)
        /// The Event `name` again: count, lastTimestamp, message.
        case update(name: String, count: Int, firstTimestamp: String, message: String)
        /// Dropped by the spam filter.
        case drop
    }

    static let maxSimilar = 10
    static let similarWindow: TimeInterval = 600
    static let burst = 25.0
    static let refillPerSecond = 1.0 / 300
    static let cacheSize = 4096

    private struct Similar { var messages: Set<String>; var since: Date }
    private struct Written { var name: String; var count: Int; var firstTimestamp: String; var used: Date }
    private var similar: [String: Similar] = [:]
    private var written: [String: Written] = [:]
    private var buckets: [String: (tokens: Double, at: Date)] = [:]

    /// Decides for an occurrence: `object` identifies source and involved object, `kind` and
    /// `reason` the Event's type and reason.
    mutating func observe(object: String, kind: String, reason: String, message: String, now: Date) -> Action {
        var bucket = buckets[object] ?? (Self.burst, now)
        bucket.tokens = min(Self.burst, bucket.tokens + now.timeIntervalSince(bucket.at) * Self.refillPerSecond)
        bucket.at = now
        guard bucket.tokens >= 1 else {
            buckets[object] = bucket
            return .drop
        }
        bucket.tokens -= 1
        buckets[object] = bucket

        let aggregateKey = "\(object)|\(kind)|\(reason)"
        var group = similar[aggregateKey] ?? Similar(messages: [], since: now)
        if now.timeIntervalSince(group.since) > Self.similarWindow { group = Similar(messages: [], since: now) }
        group.messages.insert(message)
        similar[aggregateKey] = group
        var key = aggregateKey + "|" + message
        var text = message
        if group.messages.count >= Self.maxSimilar {  // client-go: len(localKeys) < maxEvents stays plain
            key = aggregateKey
            text = "(combined from similar events): " + message
        }
        if var last = written[key] {
            last.count += 1
            last.used = now
            written[key] = last
            return .update(name: last.name, count: last.count, firstTimestamp: last.firstTimestamp, message: text)
        }
        return .create(message: text)
    }

    /// Records the Event created for an occurrence (so repeats update it).
    mutating func created(name: String, object: String, kind: String, reason: String, message: String, timestamp: String, now: Date) {
        let aggregateKey = "\(object)|\(kind)|\(reason)"
        let combined = message.hasPrefix("(combined from similar events): ")
        written[combined ? aggregateKey : aggregateKey + "|" + message] = Written(name: name, count: 1, firstTimestamp: timestamp, used: now)
        if written.count > Self.cacheSize, let oldest = written.min(by: { $0.value.used < $1.value.used })?.key {
            written[oldest] = nil  // an LRU as client-go's, coarse: evict the least recently used
        }
    }

    /// Forgets an Event that no longer exists (a PATCH answered 404): the next occurrence creates.
    mutating func forget(name: String) {
        written = written.filter { $0.value.name != name }
    }
}
