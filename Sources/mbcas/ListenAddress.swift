import ArgumentParser

/// A `--metrics-address` value: "127.0.0.1:9464", "[::1]:9464", ":9464" (all addresses).
func parseListenAddress(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
          (0...65535).contains(port) else {
        throw ValidationError("--metrics-address must be host:port (e.g. 127.0.0.1:9464), got '\(text)'")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "0.0.0.0" : host, port)
}
