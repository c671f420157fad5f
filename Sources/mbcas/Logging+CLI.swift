import ArgumentParser
import KernelProbe
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension AttachMode: ExpressibleByArgument {}

/// A logger writing to standard error at `level`, so stdout stays clean for data.
func makeStderrLogger(label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}
