/// The Prometheus text format parsed just enough for assertions: each sample's value keyed by
/// the series exactly as written (`name{label="value"}`), and each family's TYPE and HELP.
struct Exposition {
    var samples: [String: Double] = [:]
    var types: [String: String] = [:]
    var helps: [String: String] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { continue }
                let name = String(rest[..<space])
                let value = String(rest[rest.index(after: space)...])
                if line.hasPrefix("# TYPE ") { types[name] = value } else { helps[name] = value }
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " ") {
                samples[String(line[..<space])] = Double(line[line.index(after: space)...])
            }
        }
    }

    subscript(series series: String) -> Double? { samples[series] }

    /// Whether any sample belongs to a family whose name starts with `prefix`.
    func hasSeries(startingWith prefix: String) -> Bool {
        samples.keys.contains { $0.hasPrefix(prefix) }
    }
}
