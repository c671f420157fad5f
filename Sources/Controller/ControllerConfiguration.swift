/// How the controller applies PodAllocations: the pacing rules (cooldown, maximum step), whether
/// it may restart containers, and how much work it does at once.
///
/// The pacing rules live here, not in the agent, because the controller is the last line before
/// the kubelet: whatever the agent asks for (a bug, a burst of decisions, a restarted agent),
/// a pod's CPU limit moves at most `maxStepUp`/`maxStepDown` per resize and at most once per
/// `cooldown`, and its requests at most once per `requestCooldown`.
public struct ControllerConfiguration: Sendable, Hashable {
    /// The least time between two resizes of one pod that move a limit. A change wanted sooner
    /// waits (phase `Pending`, reason `Cooldown`) and is applied when the time has passed.
    public var cooldown: Duration
    /// The least time between any two resizes of one pod, so also between two that move only
    /// requests. Shorter than ``cooldown`` because a request is a weight: the kernel re-divides
    /// contended CPU by it at once and nothing is throttled by a stale one, so the thrash the
    /// limits' cooldown prevents does not arise; this only bounds how often the kubelet is asked.
    /// While a limit change waits for ``cooldown``, the decision's request changes go ahead alone.
    public var requestCooldown: Duration
    /// The largest factor one resize may raise a container's CPU limit by (2: at most double).
    /// A larger change is made in steps, one per cooldown, each from what the kubelet actuated.
    public var maxStepUp: Double
    /// The smallest factor one resize may lower a limit to (0.5: at most halve).
    public var maxStepDown: Double
    /// Resize containers whose cpu `resizePolicy` is `RestartContainer` (off: such pods are
    /// `Skipped`, since a restart is a visible outage the agent's decision did not weigh).
    public var allowRestarts: Bool
    /// How often every PodAllocation is queued again, whatever the watches say: a backstop for
    /// a missed event and what brings a waiting decision back.
    public var resyncInterval: Duration
    /// How many PodAllocations are reconciled at once (never one key by two workers).
    public var workers: Int
    /// The first retry delay of a key whose reconcile failed; doubles per failure, with jitter.
    public var retryBaseDelay: Duration
    /// The longest retry delay of a failing key.
    public var retryMaxDelay: Duration
    /// The first wait before a resize the API forbade (403: a ResourceQuota or LimitRange said
    /// no) is tried again for the same pod; doubles per refusal up to 5 minutes.
    public var forbiddenBackoff: Duration
    /// The component named on Events (`source.component`, `reportingComponent`).
    public var component: String
    /// This replica's name on Events (`source.host`, `reportingInstance`): the Lease identity.
    public var instance: String

    /// Creates a configuration; the defaults are those of `mbcas controller`.
    public init(cooldown: Duration = .seconds(10), requestCooldown: Duration = .seconds(1), maxStepUp: Double = 2, maxStepDown: Double = 0.5,
                allowRestarts: Bool = false, resyncInterval: Duration = .seconds(60), workers: Int = 2,
                retryBaseDelay: Duration = .milliseconds(100), retryMaxDelay: Duration = .seconds(60),
                forbiddenBackoff: Duration = .seconds(2), component: String = "mbcas-controller", instance: String = "") {
        self.cooldown = cooldown
        self.requestCooldown = requestCooldown
        self.maxStepUp = maxStepUp
        self.maxStepDown = maxStepDown
        self.allowRestarts = allowRestarts
        self.resyncInterval = resyncInterval
        self.workers = workers
        self.retryBaseDelay = retryBaseDelay
        self.retryMaxDelay = retryMaxDelay
        self.forbiddenBackoff = forbiddenBackoff
        self.component = component
        self.instance = instance
    }

    /// Checks every value; the error names the field and what is wrong with it.
    public func validate() throws(ControllerError) {
        func invalid(_ message: String) -> ControllerError { ControllerError(.configuration, message) }
        guard cooldown >= .zero else { throw invalid("cooldown must not be negative, got \(cooldown)") }
        guard requestCooldown >= .zero else { throw invalid("request cooldown must not be negative, got \(requestCooldown)") }
        guard maxStepUp.isFinite, maxStepUp >= 1 else {
            throw invalid("max step up must be at least 1 (1 forbids raising a limit), got \(maxStepUp)")
        }
        guard maxStepDown.isFinite, maxStepDown > 0, maxStepDown <= 1 else {
            throw invalid("max step down must be in (0, 1] (1 forbids lowering a limit), got \(maxStepDown)")
        }
        guard resyncInterval > .zero else { throw invalid("resync interval must be positive, got \(resyncInterval)") }
        guard workers >= 1 else { throw invalid("workers must be at least 1, got \(workers)") }
        guard retryBaseDelay > .zero, retryMaxDelay >= retryBaseDelay else {
            throw invalid("retry delays must be positive with max >= base, got \(retryBaseDelay) and \(retryMaxDelay)")
        }
        guard forbiddenBackoff > .zero else { throw invalid("the backoff after a forbidden resize must be positive, got \(forbiddenBackoff)") }
        guard !component.isEmpty else { throw invalid("the component name must not be empty") }
    }
}
