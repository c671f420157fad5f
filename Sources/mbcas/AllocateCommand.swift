import ArgumentParser
import Foundation
import Market

/// `mbcas allocate [--json] [FILE|-]`: solve one market round given as JSON and print it.
struct AllocateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocate",
        abstract: "Divide a node's CPU between pods by the market allocator and print the result.",
        discussion: """
            Reads one allocation problem as JSON from FILE, or from standard input when FILE is \
            "-" or absent, solves it exactly and prints each pod's CPU, the shadow price of CPU and \
            whether the round is over-committed.

            The market maximises Σ bid·log(x − baseline) subject to Σ x ≤ capacity − reserve and \
            floor ≤ x ≤ cap: pods share CPU in proportion to their bids, no pod gets less than its \
            floor (nor its baseline), none more than its cap. If the floors alone exceed \
            capacity − reserve they are scaled down proportionally and the round is over-committed.

            Input (millicores; "reserve" and "baseline" are optional and default to 0):
              {"capacity": 4000, "reserve": 200, "pods": [
                {"name": "web",   "bid": 3, "floor": 250, "cap": 2000},
                {"name": "batch", "bid": 1, "floor": 100, "cap": 4000, "baseline": 50}]}

            Example:
              $ mbcas allocate problem.json
              $ cat problem.json | mbcas allocate --json -

            With --json the output is
              {"allocations": [{"name": "web", "millicores": 2000}, ...],
               "overcommitted": false, "shadow_price": 0.0015}
            with pods in input order; "shadow_price" is null when no finite price clears the \
            market. Invalid input is reported with the pod and field at fault, exit code 1.
            """)

    @Flag(help: "Print the result as JSON instead of a table.")
    var json = false

    @Argument(help: ArgumentHelp("The problem as a JSON file; \"-\" or nothing reads standard input.",
                                 valueName: "file"))
    var file: String = "-"

    func run() throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            data = contents
        }
        let problem = try AllocationProblem.decode(json: data)
        let allocation = try WaterFilling.solve(problem)
        if json {
            print(AllocationReport(problem: problem, allocation: allocation).json())
        } else {
            print(AllocationReport.table(problem: problem, allocation: allocation), terminator: "")
        }
    }
}
