import Foundation

/// Writes an evaluation's files into a directory, for `scripts/plot-simulation`:
/// `summary.json` and `summary.md` (the results), `timeseries-<scenario>.csv` (per second, per pod,
/// per policy), `trace-<scenario>.csv` (the demand replayed, readable by `--trace`), and
/// `sweep.csv` when there is a sweep.
public enum ResultFiles {
    /// Writes the files, creating the directory if needed; returns the paths written.
    /// - Throws: ``EvaluationError/io(_:)`` naming the path.
    @discardableResult
    public static func write(_ result: EvaluationResult, to directory: String) throws(EvaluationError) -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(directory): \(error.localizedDescription)")
        }
        var files: [(String, String)] = [
            ("summary.json", Report.json(result.scenarios, sweep: result.sweep)),
            ("summary.md", Report.markdown(result.scenarios) + "\n" + Report.diagnosticsMarkdown(result.scenarios)
                + (result.sweep.isEmpty ? "" : "\n" + Report.markdown(sweep: result.sweep))),
        ]
        for scenario in result.scenarios {
            let name = fileName(scenario.scenario.name)
            files.append(("timeseries-\(name).csv", Report.seriesCSV(scenario)))
            files.append(("trace-\(name).csv", TraceCSV.render(scenario.scenario.trace)))
        }
        if !result.sweep.isEmpty { files.append(("sweep.csv", Report.sweepCSV(result.sweep))) }
        var written: [String] = []
        for (name, contents) in files {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try contents.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw .io("cannot write \(path): \(error.localizedDescription)")
            }
            written.append(path)
        }
        return written
    }

    /// A scenario name made safe for a file name (letters, digits, `-`, `_`, `.`).
    public static func fileName(_ name: String) -> String {
        let safe = name.unicodeScalars.map { scalar -> Character in
            let allowed = (scalar.properties.isAlphabetic && scalar.isASCII) || ("0"..."9").contains(scalar)
                || scalar == "-" || scalar == "_" || scalar == "."
            return allowed ? Character(scalar) : "_"
        }
        return safe.isEmpty ? "scenario" : String(safe)
    }
}
