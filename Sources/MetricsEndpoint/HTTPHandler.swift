internal import Logging
internal import NIOCore
internal import NIOHTTP1

/// Serves the requests of one connection, after NIO's HTTP/1 decoder and pipelining handler.
///
/// Everything runs on the connection's event loop and answers at once: the response is built
/// from the registry and the health closures and written in one go, so a request never waits on
/// the agent and a connection is never left half-answered by us.
///
/// Two bounds keep a misbehaving client from holding resources:
/// - **Body size.** No route takes a body. One announced or sent beyond `maxBodyBytes` gets a
///   413 and the connection is closed once that is written.
/// - **Deadline.** A timer, re-armed when a connection opens, when a request head arrives and
///   when a response is queued, closes the connection when it fires. So an idle keep-alive
///   connection, a client dribbling its request, and one not reading its response all lose the
///   connection after `timeout` without progress.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The per-connection bounds.
    struct Limits: Sendable {
        /// The largest request body tolerated, in bytes (and ignored: no route reads bodies).
        var maxBodyBytes: Int
        /// How long a connection may go without progress before it is closed.
        var timeout: TimeAmount
    }

    private enum State {
        /// Between requests.
        case idle
        /// A head was received; counting body bytes until the end.
        case receiving(HTTPRequestHead, bodyBytes: Int)
        /// The request was refused before its end; the rest is dropped until the close.
        case refused
    }

    private let routes: Routes
    private let limits: Limits
    private let logger: Logger
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(routes: Routes, limits: Limits, logger: Logger) {
        self.routes = routes
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armDeadline(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            armDeadline(context: context)
            // Refuse on the announced length without waiting for the bytes to arrive.
            if let announced = head.headers.first(name: "content-length").flatMap(Int.init),
               announced > limits.maxBodyBytes {
                refuse(context: context, head: head)
                return
            }
            state = .receiving(head, bodyBytes: 0)
        case (.body(let chunk), .receiving(let head, let received)):
            // Chunked bodies announce no length: count what arrives.
            let total = received + chunk.readableBytes
            if total > limits.maxBodyBytes {
                refuse(context: context, head: head)
                return
            }
            state = .receiving(head, bodyBytes: total)
        case (.end, .receiving(let head, _)):
            state = .idle
            let response = routes.response(method: head.method, uri: head.uri)
            write(response, to: head, keepAlive: head.isKeepAlive, context: context)
            armDeadline(context: context)
        case (_, .refused):
            break
        case (.head, .receiving), (.body, .idle), (.end, .idle):
            // NIO's decoder never produces these orders; if it ever did, the connection's state
            // is unknown and the only safe answer is to drop it.
            logger.debug("metrics endpoint: unexpected request part order, closing connection")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Parse errors already got their 400 from HTTPServerProtocolErrorHandler; for these and
        // socket errors alike the connection is done.
        logger.debug("metrics endpoint: closing connection after error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func refuse(context: ChannelHandlerContext, head: HTTPRequestHead) {
        state = .refused
        logger.debug(
            "metrics endpoint: request body over limit, closing connection",
            metadata: ["limit_bytes": "\(limits.maxBodyBytes)", "uri": "\(head.uri)"]
        )
        let response = Response(
            status: .payloadTooLarge,
            contentType: Routes.textContentType,
            body: Array("request body too large\n".utf8)
        )
        write(response, to: head, keepAlive: false, context: context)
    }

    private func write(
        _ response: Response,
        to request: HTTPRequestHead,
        keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        for (name, value) in response.extraHeaders {
            headers.add(name: name, value: value)
        }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            // HTTP/1.0 closes by default; say that we keep the connection as the client asked.
            headers.add(name: "connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            let body = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            // Close only once the bytes are out, so the client reads the whole response.
            written.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    private func armDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        let logger = self.logger
        let timeout = limits.timeout
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            logger.debug(
                "metrics endpoint: connection made no progress, closing",
                metadata: ["timeout_ms": "\(timeout.nanoseconds / 1_000_000)"]
            )
            context.close(promise: nil)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }
}
