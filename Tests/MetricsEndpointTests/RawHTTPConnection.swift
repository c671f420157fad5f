import NIOCore
import NIOPosix

/// One response as the client read it off the wire.
struct HTTPResult {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: String

    /// The first value of a header, matched case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

enum RawHTTPError: Error {
    case closedBeforeResponse(received: String)
    case malformedResponse(String)
}

/// A plain TCP client speaking HTTP/1.1 by hand, so tests can send what a real client would and
/// also what no well-behaved client sends (oversized bodies, half a request, nothing at all).
/// Loopback only. Used from one task at a time.
final class RawHTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var pending: [UInt8] = []
    private(set) var isClosed = false

    private init(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Connects to 127.0.0.1:`port`, runs `body`, then closes the connection.
    static func with<T>(port: Int, _ body: (RawHTTPConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = RawHTTPConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(connection)
        }
    }

    /// One GET on a fresh connection.
    static func get(port: Int, _ path: String) async throws -> HTTPResult {
        try await with(port: port) { connection in
            try await connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return try await connection.response()
        }
    }

    /// Writes raw bytes.
    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// Reads one complete response (headers, then `content-length` bytes of body).
    func response() async throws -> HTTPResult {
        while true {
            if let result = try parseResponse() { return result }
            guard try await receive() else {
                throw RawHTTPError.closedBeforeResponse(received: String(decoding: pending, as: UTF8.self))
            }
        }
    }

    /// Reads until the server closes the connection and returns what arrived; a reset counts as a
    /// close.
    func readUntilClosed() async -> String {
        while (try? await receive()) == true {}
        isClosed = true
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Appends the next chunk to `pending`; false at end of stream.
    private func receive() async throws -> Bool {
        guard let chunk = try await inbound.next() else {
            isClosed = true
            return false
        }
        pending.append(contentsOf: chunk.readableBytesView)
        return true
    }

    private func parseResponse() throws -> HTTPResult? {
        let separator = Array("\r\n\r\n".utf8)
        guard let headerEnd = pending.firstRange(of: separator) else { return nil }
        let headText = String(decoding: pending[..<headerEnd.lowerBound], as: UTF8.self)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw RawHTTPError.malformedResponse(headText)
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            return (String(line[..<colon]), String(value))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        let bodyStart = headerEnd.upperBound
        guard pending.count - bodyStart >= length else { return nil }
        let body = String(decoding: pending[bodyStart..<(bodyStart + length)], as: UTF8.self)
        pending.removeFirst(bodyStart + length)
        return HTTPResult(status: status, headers: headers, body: body)
    }
}
