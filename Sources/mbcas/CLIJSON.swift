import Foundation

/// The JSON the CLI prints (`--json` of probe, allocate, demo): keys sorted, slashes unescaped;
/// compact for a stream of objects (one a line) or a machine's answer, indented for one answer a
/// person may read.
enum CLIJSON {
    /// `value` as one line.
    static func line(_ value: some Encodable) throws -> String { try encode(value, pretty: false) }

    /// `value` indented over several lines.
    static func document(_ value: some Encodable) throws -> String { try encode(value, pretty: true) }

    private static func encode(_ value: some Encodable, pretty: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
