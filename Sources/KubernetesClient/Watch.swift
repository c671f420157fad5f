import Foundation
import Synchronization

/// One change a watch reports.
public enum WatchEvent<R: KubernetesResource>: Sendable {
    case added(R)
    case modified(R)
    case deleted(R)
    /// Nothing changed up to this resourceVersion (`allowWatchBookmarks`): resume from here.
    case bookmark(resourceVersion: String)

    /// The resourceVersion this event brings the watcher to.
    public var resourceVersion: String? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): object.metadata.resourceVersion
        case .bookmark(let version): version
        }
    }
}

extension ResourceClient {
    /// WATCH from `resourceVersion` as a stream of events. The stream ends when the server ends
    /// it (`timeoutSeconds`), and throws a ``KubernetesError`` for a failed start or an ERROR
    /// event: `isExpired` (410) means the version is too old — relist (``Informer`` does).
    /// Ending the consumer's iteration (or cancelling its task) closes the connection.
    public func watch(_ options: ListOptions = ListOptions(), resourceVersion: String?, timeoutSeconds: Int = 300,
                      bookmarks: Bool = true) -> AsyncThrowingStream<WatchEvent<R>, any Error> {
        var query = options.query + [("watch", "true"), ("timeoutSeconds", String(timeoutSeconds))]
        if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if bookmarks { query.append(("allowWatchBookmarks", "true")) }
        let client = self.client
        let path = collectionPath
        let watchQuery = query
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    // The server ends the stream after timeoutSeconds; the transfer's own timeout is a backstop.
                    let request = try client.request("GET", path, query: watchQuery, timeout: .seconds(timeoutSeconds + 30))
                    let decoder = WatchLineDecoder<R>(url: request.url)
                    let response = try await client.transport.stream(request) { chunk in
                        for result in decoder.feed(chunk) {
                            switch result {
                            case .success(let event):
                                if case .terminated = continuation.yield(event) { return false }
                            case .failure(let error):
                                continuation.finish(throwing: error)
                                return false
                            }
                        }
                        return true
                    }
                    if !(200..<300).contains(response.status) {
                        throw KubernetesError(response: response, request: request)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Splits a watch body into lines (one JSON event each; chunks may cut a line anywhere) and
/// decodes them. Used only from the transfer's thread.
final class WatchLineDecoder<R: KubernetesResource>: @unchecked Sendable {
    private var pending: [UInt8] = []
    private let url: String
    private let decoder = JSONDecoder()

    init(url: String) {
        self.url = url
    }

    private struct Envelope: Decodable {
        var type: String
    }

    private struct Typed<Object: Decodable>: Decodable {
        var object: Object
    }

    private struct BookmarkObject: Decodable {
        struct Meta: Decodable { var resourceVersion: String }
        var metadata: Meta
    }

    func feed(_ chunk: [UInt8]) -> [Result<WatchEvent<R>, KubernetesError>] {
        pending += chunk
        var results: [Result<WatchEvent<R>, KubernetesError>] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Data(pending[..<newline])
            pending.removeSubrange(...newline)
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            results.append(decode(line))
        }
        return results
    }

    private func decode(_ line: Data) -> Result<WatchEvent<R>, KubernetesError> {
        do {
            let type = try decoder.decode(Envelope.self, from: line).type
            switch type {
            case "ADDED": return .success(.added(try decoder.decode(Typed<R>.self, from: line).object))
            case "MODIFIED": return .success(.modified(try decoder.decode(Typed<R>.self, from: line).object))
            case "DELETED": return .success(.deleted(try decoder.decode(Typed<R>.self, from: line).object))
            case "BOOKMARK":
                return .success(.bookmark(resourceVersion: try decoder.decode(Typed<BookmarkObject>.self, from: line).object.metadata.resourceVersion))
            case "ERROR":
                return .failure(KubernetesError(watchStatus: try decoder.decode(Typed<APIStatus>.self, from: line).object, url: url))
            default:
                return .failure(KubernetesError(.decoding, "watch \(url): unknown event type \(type)"))
            }
        } catch let error as DecodingError {
            return .failure(KubernetesError(.decoding, "watch \(url): cannot decode an event: \(error.shortDescription)"))
        } catch {
            return .failure(KubernetesError(.decoding, "watch \(url): cannot decode an event: \(error)"))
        }
    }
}
