#if canImport(Glibc)
import Glibc
#endif

/// A plain-text table for the terminal, redrawn in place when stdout is a
/// terminal (`mbcas top`, `mbcas demo`), printed block after block otherwise.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    var footer: [String] = []

    func render() -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }
        return all.map(line) + footer
    }
}

/// Redraws a block of lines in place on a terminal.
final class LiveScreen {
    private var linesDrawn = 0
    let interactive = isatty(1) != 0

    func draw(_ lines: [String]) {
        var out = ""
        if interactive && linesDrawn > 0 {
            out += "\u{1B}[\(linesDrawn)A"  // cursor up to the block's first line
        }
        for line in lines { out += (interactive ? "\u{1B}[2K" : "") + line + "\n" }
        if !interactive { out += "\n" }
        linesDrawn = lines.count
        writeStdout(out)
    }
}

/// One write(2) of a whole block, so concurrent output never interleaves inside it.
func writeStdout(_ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
