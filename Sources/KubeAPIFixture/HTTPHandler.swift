internal import Logging
internal import NIOCore
internal import NIOHTTP1
import Foundation

/// Serves one connection: reads a whole request, asks the ``Router``, and writes either a whole
/// response or, for a watch, a chunked stream that ``WatchStream`` feeds until it ends.
final class APIHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: Router
    private let store: ObjectStore
    private let bookmarkInterval: TimeAmount
    private let logger: Logger
    private let requestLogLevel: Logger.Level
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(router: Router, store: ObjectStore, bookmarkInterval: TimeAmount, logger: Logger, requestLogLevel: Logger.Level) {
        self.router = router
        self.store = store
        self.bookmarkInterval = bookmarkInterval
        self.logger = logger
        self.requestLogLevel = requestLogLevel
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let components = URLComponents(string: "http://fixture" + requestHead.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            let request = APIRequest(
                method: requestHead.method.rawValue, path: components?.percentEncodedPath ?? requestHead.uri,
                query: query, contentType: requestHead.headers.first(name: "content-type") ?? "",
                authorization: requestHead.headers.first(name: "authorization"),
                body: Data(body.readableBytesView))
            switch router.handle(request) {
            case .full(let code, let headers, let bytes):
                logger.log(level: requestLogLevel, "\(request.method) \(requestHead.uri) \(code)")
                write(code: code, headers: headers, body: bytes, request: requestHead, context: context)
            case .watch(let watch):
                logger.log(level: requestLogLevel, "\(request.method) \(requestHead.uri) 200 (watch)")
                WatchStream.start(watch, store: store, request: requestHead, bookmarkInterval: bookmarkInterval,
                                  channel: context.channel, logger: logger)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("kube fixture: closing connection after error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func write(code: Int, headers extra: [(String, String)], body bytes: Data, request: HTTPRequestHead,
                       context: ChannelHandlerContext) {
        var headers = HTTPHeaders(extra)
        headers.add(name: "content-length", value: String(bytes.count))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: code), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !bytes.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
