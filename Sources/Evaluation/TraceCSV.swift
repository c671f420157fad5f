/// Demand traces as CSV: a header `time_s,<pod>,<pod>,…` then one row per step with the step's
/// start time in seconds and each pod's offered load in CPUs. Rows must start at time 0 and be
/// evenly spaced (the spacing is the trace's resolution); blank lines and lines starting with `#`
/// are ignored. The simulator writes the generated traces in this form, so they can be read back.
public enum TraceCSV {
    /// Parses a trace.
    /// - Throws: ``EvaluationError/invalidTrace(_:)`` naming the line at fault.
    public static func parse(_ text: String) throws(EvaluationError) -> DemandTrace {
        var header: [String]?
        var times: [Int] = []
        var columns: [[Double]] = []
        var lineNumber = 0
        // "\r\n" is one Character in Swift, and a newline.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingSpaces }
            guard let names = header else {
                guard fields.count >= 2, fields[0] == "time_s" else {
                    throw .invalidTrace("line \(lineNumber): the header must be time_s,<pod>,<pod>,…")
                }
                let pods = Array(fields.dropFirst())
                if let empty = pods.firstIndex(of: "") {
                    throw .invalidTrace("line \(lineNumber): pod name \(empty + 1) is empty")
                }
                guard Set(pods).count == pods.count else {
                    throw .invalidTrace("line \(lineNumber): pod names must be distinct")
                }
                header = pods
                columns = Array(repeating: [], count: pods.count)
                continue
            }
            guard fields.count == names.count + 1 else {
                throw .invalidTrace("line \(lineNumber): \(fields.count) fields, expected \(names.count + 1)")
            }
            guard let seconds = Double(fields[0]), seconds.isFinite, seconds >= 0 else {
                throw .invalidTrace("line \(lineNumber): time_s \"\(fields[0])\" is not a time ≥ 0")
            }
            times.append(SimTime.nanoseconds(seconds: seconds))
            for index in names.indices {
                guard let value = Double(fields[index + 1]), value.isFinite, value >= 0 else {
                    throw .invalidTrace("line \(lineNumber): \(names[index]) \"\(fields[index + 1])\" is not a CPU amount ≥ 0")
                }
                columns[index].append(value)
            }
        }
        guard let pods = header else { throw .invalidTrace("no header line") }
        guard let first = times.first else { throw .invalidTrace("no rows") }
        guard first == 0 else { throw .invalidTrace("the first row must be at time 0, got \(SimTime.seconds(first)) s") }
        // One row: a constant trace of one 100 ms step.
        let resolution = times.count > 1 ? times[1] - times[0] : 100 * SimTime.millisecond
        guard resolution > 0 else { throw .invalidTrace("times must increase") }
        for (index, time) in times.enumerated() where abs(time - index * resolution) > 1000 {
            throw .invalidTrace("rows must be evenly spaced by \(SimTime.seconds(resolution)) s: row \(index + 1) is at \(SimTime.seconds(time)) s")
        }
        return try DemandTrace(pods: pods, resolution: resolution, cpus: columns)
    }

    /// Renders a trace (loads with 4 decimals, 0.1 millicore).
    public static func render(_ trace: DemandTrace) -> String {
        var out = "time_s," + trace.pods.joined(separator: ",") + "\n"
        let timeDigits = trace.resolution % SimTime.millisecond == 0 ? 3 : 9
        for step in 0..<trace.steps {
            out += FixedFormat.string(SimTime.seconds(step * trace.resolution), digits: timeDigits)
            for pod in trace.pods.indices {
                out += "," + FixedFormat.string(trace.cpus[pod][step], digits: 4)
            }
            out += "\n"
        }
        return out
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs, as a String.
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
