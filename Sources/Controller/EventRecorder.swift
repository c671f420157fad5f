import Foundation
import KubernetesClient
import Logging
import Synchronization

/// Records core `v1` Events on pods, what `kubectl describe pod` shows: one for every resize
/// the controller applies (Normal) or refuses (Warning), so the people who own a pod see what
/// MBCAS did to it without knowing PodAllocations exist.
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

    init(client: APIClient, component: String, instance: String, logger: Logger) {
        self.events = { namespace in client.resources(Event.self, namespace: namespace) }
        self.component = component
        self.instance = instance
        self.logger = logger
    }

    /// Creates an Event about `pod`; returns whether it was stored.
    @discardableResult
    func record(_ kind: Kind, reason: String, message: String, on pod: Pod, now: Date = Date()) async -> Bool {
        let namespace = pod.metadata.namespace ?? "default"
        let event = Event(
            metadata: ObjectMeta(name: name(for: pod.metadata.name, at: now), namespace: namespace),
            involvedObject: ObjectReference(apiVersion: "v1", kind: "Pod", namespace: namespace, name: pod.metadata.name,
                                            uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion),
            reason: reason, message: message, type: kind.rawValue,
            source: EventSource(component: component, host: instance.isEmpty ? nil : instance),
            timestamp: Timestamp.time(now))
        do {
            _ = try await events(namespace).create(event)
            logger.debug("event recorded", metadata: ["pod": "\(namespace)/\(pod.metadata.name)", "reason": "\(reason)",
                                                       "message": "\(message)"])
            return true
        } catch {
            logger.warning("cannot record an event on the pod", metadata: [
                "pod": "\(namespace)/\(pod.metadata.name)", "reason": "\(reason)", "error": "\(error.message)",
            ])
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
