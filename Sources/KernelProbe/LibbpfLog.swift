import CKernelProbe
import Logging
import Synchronization

/// Routes libbpf's own messages into swift-log, and captures them while a
/// load is in progress so a verifier rejection can be saved whole to a file.
///
/// libbpf has one process-wide print callback with no context pointer, so
/// this state is process-wide too.
enum LibbpfLog {
    private struct State {
        var logger: Logger?
        var capture: [String]?
    }

    private static let state = Mutex(State())

    /// Sends libbpf's warnings to `logger` (info and debug at trace level).
    static func install(_ logger: Logger) {
        state.withLock { $0.logger = logger }
        mbcas_set_log_handler { level, message in
            guard let message else { return }
            LibbpfLog.receive(level: level, message: String(cString: message))
        }
    }

    /// Starts keeping every message until `endCapture()`.
    static func beginCapture() {
        state.withLock { $0.capture = [] }
    }

    /// Stops capturing and returns what was said.
    static func endCapture() -> String {
        state.withLock { s in
            defer { s.capture = nil }
            return (s.capture ?? []).joined()
        }
    }

    private static func receive(level: Int32, message: String) {
        let logger = state.withLock { s -> Logger? in
            s.capture?.append(message)
            return s.logger
        }
        guard let logger else { return }
        let text = message.hasSuffix("\n") ? String(message.dropLast()) : message
        switch level {
        case Int32(LIBBPF_WARN.rawValue): logger.warning("\(text)")
        default: logger.trace("\(text)")
        }
    }
}
