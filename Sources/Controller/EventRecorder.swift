import Foundation
import KubernetesClient
import Logging
import Synchronization

/// Records core `v1` Events on pods, what `kubectl describe pod` shows: one for every resize
/// the controller applies (Normal) or refuses (Warning), so the people who own a pod see what
/// MBCAS did to it without knowing PodAllocations exist.
///
/// Repeats are aggregated as client-go's recorder aggregates them (``EventCorrelator``): one
/// Event per distinct occurrence with a count, similar ones combined, a spam filter per pod.
///
/// An Event is best effort, as in client-go: a failure is logged and never fails or retries the
/// reconcile that wanted it (a missing `events` permission must not stop resizes).
final class EventRecorder: Sendable {
    /// "Normal" or "Warning".
    enum Kind: String, Sendable {
        case normal = "Normal", warning = "Warning"
    }

    let events: @Sendable (String) -> ResourceClient<Event>
    let component: String
    let instance: String
    let logger: Logger
    private let sequence = Atomic<UInt64>(0)
    private let correlator = Mutex(EventCorrelator())

    init(client: APIClient, component: String, instance: String, logger: Logger) {
        self.events = { namespace in client.resources(Event.self, namespace: namespace) }
        self.component = component
        self.instance = instance
        self.logger = logger
    }

    /// Records an occurrence about `pod`, as client-go's recorder does (``EventCorrelator``): a
    /// new Event, or a PATCH of the count of one already written, or nothing (spam filter).
    /// Returns whether the API stored something.
    @discardableResult
    func record(_ kind: Kind, reason: String, message: String, on pod: Pod, now: Date = Date()) async -> Bool {
        let namespace = pod.metadata.namespace ?? "default"
        let object = "\(component)|\(instance)|Pod|\(namespace)|\(pod.metadata.name)|\(pod.metadata.uid ?? "")"
        let action = correlator.withLock { $0.observe(object: object, kind: kind.rawValue, reason: reason, message: message, now: now) }
        let timestamp = Timestamp.time(now)
        let metadata: Logger.Metadata = ["pod": "\(namespace)/\(pod.metadata.name)", "reason": "\(reason)", "message": "\(message)"]
        switch action {
        case .drop:
            logger.debug("event dropped by the spam filter", metadata: metadata)
            return false
        case .update(let name, let count, _, let text):
            let patch = EventCountPatch(count: count, lastTimestamp: timestamp, message: text)
            do {
                _ = try await events(namespace).patch(name, .strategicMerge, patch)
                logger.debug("event count raised", metadata: metadata.merging(["count": "\(count)"]) { $1 })
                return true
            } catch where error.isNotFound {
                correlator.withLock { $0.forget(name: name) }  // deleted (TTL): write it anew
                return await create(kind, reason: reason, message: text, on: pod, object: object, now: now, metadata: metadata)
            } catch {
                logger.warning("cannot update an event on the pod", metadata: metadata.merging(["error": "\(error.message)"]) { $1 })
                return false
            }
        case .create(let text):
            return await create(kind, reason: reason, message: text, on: pod, object: object, now: now, metadata: metadata)
        }
    }

    private func create(_ kind: Kind, reason: String, message: String, on pod: Pod, object: String, now: Date,
                        metadata: Logger.Metadata) async -> Bool {
        let namespace = pod.metadata.namespace ?? "default"
        let timestamp = Timestamp.time(now)
        let event = Event(
            metadata: ObjectMeta(name: name(for: pod.metadata.name, at: now), namespace: namespace),
            involvedObject: ObjectReference(apiVersion: "v1", kind: "Pod", namespace: namespace, name: pod.metadata.name,
                                            uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion),
            reason: reason, message: message, type: kind.rawValue,
            source: EventSource(component: component, host: instance.isEmpty ? nil : instance),
            timestamp: timestamp)
        do {
            let stored = try await events(namespace).create(event)
            correlator.withLock {
                $0.created(name: stored.metadata.name, object: object, kind: kind.rawValue, reason: reason, message: message,
                           timestamp: timestamp, now: now)
            }
            logger.debug("event recorded", metadata: metadata)
            return true
        } catch {
            logger.warning("cannot record an event on the pod", metadata: metadata.merging(["error": "\(error.message)"]) { $1 })
            return false
        }
    }

    /// `<pod>.<hex>`: as client-go names Events (`name.%x` of the time in nanoseconds), plus a
    /// per-process sequence number so two Events in the same nanosecond cannot collide.
    func name(for pod: String, at now: Date) -> String {
        let nanos = UInt64(max(0, now.timeIntervalSince1970 * 1_000_000_000))
        let sequence = sequence.add(1, ordering: .relaxed).newValue
        return "\(pod).\(String(nanos, radix: 16))\(String(sequence % 4096, radix: 16))"
    }
}

/// The strategic merge patch client-go's recorder sends for a repeat.
struct EventCountPatch: Encodable, Sendable {
    var count: Int
    var lastTimestamp: String
    var message: String
}
