import Foundation
import KubernetesClient
import Logging
import Synchronization

/// Leader election over one `coordination.k8s.io/v1` Lease (see
/// ``LeaderElectionConfiguration`` for the timing rules).
///
/// - Acquire: no Lease → create it (409 AlreadyExists: someone else was first); a Lease whose
///   holder is empty, or that has not changed for its `leaseDurationSeconds` since this replica
///   first saw that version → update it with its `resourceVersion` (409 Conflict: someone else
///   won). Every acquisition counts in `leaseTransitions`.
/// - Lead: the work runs with an open ``LeadershipGate``; the Lease's `renewTime` is renewed every
///   `renewInterval`. A renew that finds another holder ends leadership at once; failures are
///   retried until `renewDeadline`, when the gate closes by itself and the work is cancelled.
/// - Shut down: the work is cancelled and, if configured, the Lease handed back.
public final class LeaderElector: Sendable {
    private struct Observation: Sendable {
        var resourceVersion: String?
        var holder: String
        var at: ContinuousClock.Instant
    }

    /// The election's settings.
    public let configuration: LeaderElectionConfiguration
    private let leases: ResourceClient<Lease>
    private let logger: Logger
    private let gate = LeadershipGate.closed()
    private let observation = Mutex<Observation?>(nil)
    private let lastContact = Mutex<ContinuousClock.Instant?>(nil)
    private let leadingFlag = Atomic<Bool>(false)

    /// Creates an elector for `configuration`'s Lease.
    public init(client: APIClient, configuration: LeaderElectionConfiguration, logger: Logger) {
        self.configuration = configuration
        self.leases = client.resources(Lease.self, namespace: configuration.namespace)
        var logger = logger
        logger[metadataKey: "lease"] = "\(configuration.namespace)/\(configuration.leaseName)"
        logger[metadataKey: "identity"] = "\(configuration.identity)"
        self.logger = logger
    }

    /// The holder this replica last saw in the Lease ("" for none).
    public var observedHolder: String? { observation.withLock { $0?.holder } }

    /// How long ago the Lease was last read or written successfully (nil: never).
    public var timeSinceContact: Duration? { lastContact.withLock { $0 }.map { ContinuousClock.now - $0 } }

    /// Runs until the calling task is cancelled: waits for the Lease, runs `work` while it holds
    /// it (cancelling `work` when it stops holding it), waits again. `onChange` hears each start
    /// (true) and end (false) of leadership; the end is reported after `work` has returned.
    public func run(onChange: (@Sendable (Bool) -> Void)? = nil,
                    whileLeading work: @escaping @Sendable (LeadershipGate) async -> Void) async {
        while !Task.isCancelled {
            guard await acquire() else { break }
            leadingFlag.store(true, ordering: .releasing)
            logger.notice("acquired the lease: leading")
            onChange?(true)
            let gate = gate
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await work(gate) }
                group.addTask { await self.renew() }
                group.addTask { await self.watchdog() }
                _ = await group.next()
                gate.close()
                group.cancelAll()
            }
            leadingFlag.store(false, ordering: .releasing)
            onChange?(false)
            if Task.isCancelled {
                if configuration.releaseOnShutdown {
                    // The caller's task is cancelled; the release runs in a task of its own.
                    await Task { await self.release() }.value
                }
                break
            }
            logger.warning("stopped leading; waiting for the lease again")
        }
    }

    // MARK: - Phases

    /// Tries until this replica holds the Lease (true) or the task is cancelled (false).
    private func acquire() async -> Bool {
        var lastHolder: String?
        while !Task.isCancelled {
            let start = ContinuousClock.now
            do {
                if try await tryAcquireOrRenew() {
                    gate.open(until: start + configuration.renewDeadline)
                    return true
                }
                let holder = observedHolder
                if holder != lastHolder {
                    logger.info("the lease is held by another replica; standing by", metadata: ["holder": "\(holder ?? "")"])
                    lastHolder = holder
                }
            } catch {
                logger.warning("cannot read or write the lease; retrying", metadata: ["error": "\(Self.describe(error))"])
            }
            do { try await Task.sleep(for: jittered(configuration.retryPeriod)) } catch { return false }
        }
        return false
    }

    /// Renews every `renewInterval`; returns when leadership is lost (another holder, or no
    /// successful renew before the deadline) or the task is cancelled.
    private func renew() async {
        while true {
            do { try await Task.sleep(for: configuration.renewInterval) } catch { return }
            while true {
                let start = ContinuousClock.now
                do {
                    if try await tryAcquireOrRenew() {
                        gate.open(until: start + configuration.renewDeadline)
                        break
                    }
                    logger.warning("lost the lease to another replica", metadata: ["holder": "\(observedHolder ?? "")"])
                    gate.close()
                    return
                } catch {
                    guard gate.isOpen, !Task.isCancelled else { return }
                    logger.warning("cannot renew the lease; retrying until the renew deadline", metadata: [
                        "error": "\(Self.describe(error))",
                    ])
                }
                let retry = min(configuration.retryPeriod, configuration.renewInterval)
                do { try await Task.sleep(for: retry) } catch { return }
            }
        }
    }

    /// Returns when the gate's deadline passes without a renew: whatever the renew task is
    /// stuck on, leadership ends on time.
    private func watchdog() async {
        while let deadline = gate.deadline {
            if ContinuousClock.now >= deadline {
                logger.error("the lease was not renewed before the renew deadline: stopped leading")
                return
            }
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
        }
    }

    /// Hands the Lease back if this replica still holds it: empty holder, so a waiting replica
    /// takes it at its next look.
    private func release() async {
        do {
            var lease = try await leases.get(configuration.leaseName)
            guard lease.spec.holderIdentity == configuration.identity else { return }
            let now = Timestamp.microTime(Date())
            lease.spec = LeaseSpec(holderIdentity: nil, leaseDurationSeconds: 1, acquireTime: now, renewTime: now,
                                   leaseTransitions: lease.spec.leaseTransitions)
            _ = try await leases.update(lease)
            logger.notice("released the lease")
        } catch {
            logger.warning("cannot release the lease; the next leader waits for it to expire",
                           metadata: ["error": "\(error.message)"])
        }
    }

    // MARK: - One attempt

    /// One look at the Lease: takes or renews it if allowed. True when this replica holds it.
    /// - Throws: ``KubernetesError`` for failures other than losing a race (409).
    func tryAcquireOrRenew() async throws(KubernetesError) -> Bool {
        let now = Timestamp.microTime(Date())
        let existing: Lease
        switch try await readLease() {
        case .none:
            let lease = Lease(metadata: ObjectMeta(name: configuration.leaseName, namespace: configuration.namespace),
                              spec: LeaseSpec(holderIdentity: configuration.identity,
                                              leaseDurationSeconds: configuration.leaseDurationSeconds,
                                              acquireTime: now, renewTime: now, leaseTransitions: 0))
            guard let created = try await write(lease, create: true) else { return false }
            observe(created)
            return true
        case .some(let lease):
            existing = lease
        }
        observe(existing)
        let holder = existing.spec.holderIdentity ?? ""
        if !holder.isEmpty, holder != configuration.identity, !expired(existing) { return false }
        var updated = existing
        if holder == configuration.identity {
            updated.spec.renewTime = now
            updated.spec.leaseDurationSeconds = configuration.leaseDurationSeconds
        } else {
            updated.spec = LeaseSpec(holderIdentity: configuration.identity, leaseDurationSeconds: configuration.leaseDurationSeconds,
                                     acquireTime: now, renewTime: now, leaseTransitions: (existing.spec.leaseTransitions ?? 0) + 1)
        }
        guard let written = try await write(updated, create: false) else { return false }
        observe(written)
        return true
    }

    private func readLease() async throws(KubernetesError) -> Lease? {
        do {
            let lease = try await leases.get(configuration.leaseName)
            touch()
            return lease
        } catch {
            if error.isNotFound {
                touch()
                return nil
            }
            throw error
        }
    }

    /// Creates or updates; nil when another replica got there first (409).
    private func write(_ lease: Lease, create: Bool) async throws(KubernetesError) -> Lease? {
        do {
            let written = create ? try await leases.create(lease) : try await leases.update(lease)
            touch()
            return written
        } catch {
            if error.httpStatus == 409 {
                touch()
                return nil
            }
            throw error
        }
    }

    /// Notes the Lease's version; the expiry clock restarts whenever the version changes.
    private func observe(_ lease: Lease) {
        let holder = lease.spec.holderIdentity ?? ""
        observation.withLock { observation in
            if observation?.resourceVersion != lease.metadata.resourceVersion || observation?.holder != holder {
                observation = Observation(resourceVersion: lease.metadata.resourceVersion, holder: holder, at: .now)
            }
        }
    }

    /// Whether `lease` has gone unchanged for its duration, by this replica's clock.
    private func expired(_ lease: Lease) -> Bool {
        let seconds = lease.spec.leaseDurationSeconds ?? configuration.leaseDurationSeconds
        guard let seen = observation.withLock({ $0?.resourceVersion == lease.metadata.resourceVersion ? $0?.at : nil }) else {
            return false
        }
        return ContinuousClock.now >= seen + .seconds(seconds)
    }

    private func touch() {
        lastContact.withLock { $0 = .now }
    }

    private func jittered(_ period: Duration) -> Duration {
        period * Double.random(in: 1...1.2)
    }

    private static func describe(_ error: any Error) -> String {
        (error as? KubernetesError)?.message ?? "\(error)"
    }
}
