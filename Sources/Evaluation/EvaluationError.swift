import Market

/// What can go wrong in an evaluation: bad input (trace, scenario, settings), a market error, or I/O.
public enum EvaluationError: Error, Sendable, CustomStringConvertible {
    /// A demand trace that cannot be used, and why.
    case invalidTrace(String)
    /// A scenario or setting out of range, and why.
    case invalidSetting(String)
    /// The Market library refused a round or a setting.
    case market(MarketError)
    /// A file could not be read or written.
    case io(String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .invalidTrace(let message): "invalid trace: \(message)"
        case .invalidSetting(let message): "invalid setting: \(message)"
        case .market(let error): "market: \(error)"
        case .io(let message): message
        }
    }
}
