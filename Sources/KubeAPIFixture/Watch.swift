internal import Logging
internal import NIOCore
internal import NIOHTTP1
import Foundation

/// A watch's HTTP side: a 200 with a chunked body of newline-separated
/// `{"type":...,"object":...}` events, ended (and the connection closed) by `timeoutSeconds`,
/// by an expired start revision, or by the client going away.
///
/// Events come from the store's lock on any thread; each is handed to the channel's event loop
/// in the order the store produced it, so the stream is in revision order.
enum WatchStream {
    static func start(_ watch: WatchRequest, store: ObjectStore, request: HTTPRequestHead, bookmarkInterval: TimeAmount,
                      channel: any Channel, logger: Logger) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        // The fixture closes the connection when a watch ends: say so, or a keep-alive client (urllib3)
        // may pool the connection and send its next request into the close (connection reset).
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request.version, status: .ok, headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.flush()

        let allocator = channel.allocator
        let sink: WatchSink = { message in
            let line: JSON = switch message {
            case .event(let type, let object): ["type": .string(type), "object": object]
            case .bookmark(let revision):
                ["type": "BOOKMARK", "object": ["kind": .string(watch.type.kind), "apiVersion": .string(watch.type.apiVersion),
                                                "metadata": ["resourceVersion": .string(String(revision))]]]
            }
            if case .bookmark = message, !watch.bookmarks { return }
            var buffer = allocator.buffer(capacity: 256)
            buffer.writeBytes(line.encoded())
            buffer.writeString("\n")
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        }
        let end: @Sendable () -> Void = {
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
        let id: Int?
        do {
            id = try store.watch(watch.type, namespace: watch.namespace, resourceVersion: watch.resourceVersion,
                                 labels: watch.labels, fields: watch.fields, sink: sink)
        } catch {
            sink(.event("ERROR", error.status))
            end()
            return
        }
        guard let id else {
            // Expired: the store already sent the single ERROR event.
            end()
            return
        }
        let loop = channel.eventLoop
        let bookmarks = watch.bookmarks
            ? loop.scheduleRepeatedTask(initialDelay: bookmarkInterval, delay: bookmarkInterval) { _ in store.bookmark(id) }
            : nil
        let timeout = watch.timeoutSeconds.map { seconds in
            loop.scheduleTask(in: .seconds(Int64(seconds))) {
                store.unwatch(id)
                end()
            }
        }
        channel.closeFuture.whenComplete { _ in
            store.unwatch(id)
            bookmarks?.cancel()
            timeout?.cancel()
            logger.trace("kube fixture: watch ended", metadata: ["id": "\(id)"])
        }
    }
}
