/// How replicas of the controller elect the one that acts: a `coordination.k8s.io/v1` Lease,
/// as client-go's leader election (same fields, same timing rules).
///
/// The timings keep two replicas from ever acting together: a leader that cannot renew stops
/// writing at `renewDeadline` after its last successful renew (by its own clock), while another
/// replica takes the Lease only after seeing it unchanged for `leaseDuration` (by *its* own
/// clock, from when it first saw that version, so clock skew between nodes does not matter).
/// `renewDeadline < leaseDuration` leaves a margin for requests in flight.
public struct LeaderElectionConfiguration: Sendable, Hashable {
    /// The Lease's name.
    public var leaseName: String
    /// The Lease's namespace (the controller's own).
    public var namespace: String
    /// This replica's identity (`holderIdentity`); unique per replica (the pod name).
    public var identity: String
    /// How long a Lease not renewed stays valid (`leaseDurationSeconds`): whole seconds.
    public var leaseDuration: Duration
    /// A leader that has not renewed for this long stops acting.
    public var renewDeadline: Duration
    /// How often the leader renews.
    public var renewInterval: Duration
    /// How often a waiting replica looks at the Lease (with up to 20 % jitter).
    public var retryPeriod: Duration
    /// On graceful shutdown, hand the Lease back (empty holder) so another replica takes over
    /// at once instead of after `leaseDuration`.
    public var releaseOnShutdown: Bool

    /// Creates a configuration; the timings derive from `leaseDuration` (15 s: renew every 5 s,
    /// stop acting 10 s after the last renew, candidates look every 2 s).
    public init(identity: String, leaseName: String = "mbcas-controller", namespace: String = "mbcas-system",
                leaseDuration: Duration = .seconds(15), renewDeadline: Duration? = nil, renewInterval: Duration? = nil,
                retryPeriod: Duration? = nil, releaseOnShutdown: Bool = true) {
        self.identity = identity
        self.leaseName = leaseName
        self.namespace = namespace
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline ?? leaseDuration * 2 / 3
        self.renewInterval = renewInterval ?? leaseDuration / 3
        self.retryPeriod = retryPeriod ?? min(.seconds(2), leaseDuration / 5)
        self.releaseOnShutdown = releaseOnShutdown
    }

    /// `leaseDurationSeconds` as written in the Lease.
    var leaseDurationSeconds: Int { Int(leaseDuration.components.seconds) }

    /// Checks the values; the error names the one to fix.
    public func validate() throws(ControllerError) {
        func invalid(_ message: String) -> ControllerError { ControllerError(.configuration, message) }
        guard !identity.isEmpty else { throw invalid("the leader election identity is empty (set --identity or POD_NAME)") }
        guard !leaseName.isEmpty, !namespace.isEmpty else { throw invalid("the Lease needs a name and a namespace") }
        guard leaseDuration >= .seconds(1), leaseDuration.components.attoseconds == 0 else {
            throw invalid("the lease duration must be a whole number of seconds, at least 1, got \(leaseDuration)")
        }
        guard renewInterval > .zero, renewInterval < renewDeadline, renewDeadline < leaseDuration else {
            throw invalid("the lease timings must satisfy 0 < renew interval (\(renewInterval)) < renew deadline "
                          + "(\(renewDeadline)) < lease duration (\(leaseDuration))")
        }
        guard retryPeriod > .zero else { throw invalid("the retry period must be positive") }
    }
}
