import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Closes connections whose clients send too slowly: a request's headers must arrive within
/// `headerTimeout` of its first byte, and its body within `bodyTimeout` of its headers. (Hummingbird's own
/// idle timeout closes connections that send nothing; `MaximumAvailableConnections` caps how many are open.)
///
/// Two handlers share one state per connection: `ByteWatch` sits first in the pipeline and sees the
/// first raw byte of a request (before the HTTP decoder has a head to give); `PartWatch` sits after the
/// decoder and sees where headers and body end and when the response is written.
final class SlowClientGuard {
    enum Phase { case betweenRequests, readingHead, readingBody, responding }

    let headerTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    let logger: Logger
    private var phase: Phase = .betweenRequests
    private var deadline: Scheduled<Void>?

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount, logger: Logger) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.logger = logger
    }

    /// The handlers for one new connection: add `partWatch` after the HTTP codec; it puts `ByteWatch` first.
    static func handlers(headerTimeout: Int, bodyTimeout: Int, logger: Logger) -> [any RemovableChannelHandler] {
        let guardState = SlowClientGuard(headerTimeout: .seconds(Int64(headerTimeout)), bodyTimeout: .seconds(Int64(bodyTimeout)),
                                         logger: logger)
        return [PartWatch(state: guardState)]
    }

    private func arm(_ timeout: TimeAmount, phase: Phase, on channel: any Channel) {
        deadline?.cancel()
        self.phase = phase
        let what = phase == .readingHead ? "header" : "body"
        let this = NIOLoopBound(self, eventLoop: channel.eventLoop)
        deadline = channel.eventLoop.scheduleTask(in: timeout) { [logger] in
            guard this.value.phase == phase else { return }
            logger.notice("closing slow client", metadata: ["phase": "\(what)", "timeout_seconds": "\(timeout.nanoseconds / 1_000_000_000)"])
            Metrics.slowClientClosed(phase: what)
            channel.close(promise: nil)
        }
    }

    private func disarm(_ phase: Phase) {
        deadline?.cancel()
        deadline = nil
        self.phase = phase
    }

    fileprivate func rawBytesArrived(on channel: any Channel) {
        if phase == .betweenRequests { arm(headerTimeout, phase: .readingHead, on: channel) }
    }

    fileprivate func headReceived(on channel: any Channel) { arm(bodyTimeout, phase: .readingBody, on: channel) }
    fileprivate func requestEnded() { disarm(.responding) }
    fileprivate func responseEnded() { if phase == .responding { disarm(.betweenRequests) } }
    fileprivate func closed() { disarm(.betweenRequests) }

    /// First in the pipeline: notices the first byte of a request.
    final class ByteWatch: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let state: SlowClientGuard
        init(state: SlowClientGuard) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            state.rawBytesArrived(on: context.channel)
            context.fireChannelRead(data)
        }
    }

    /// After the HTTP decoder: the end of headers, of the body, and of the response.
    final class PartWatch: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart
        let state: SlowClientGuard
        init(state: SlowClientGuard) { self.state = state }

        func handlerAdded(context: ChannelHandlerContext) {
            // The raw-byte watcher must come before the TLS and HTTP decoders; Hummingbird only lets us add
            // handlers after them, so this one places its partner at the front.
            try? context.pipeline.syncOperations.addHandler(ByteWatch(state: state), position: .first)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: state.headReceived(on: context.channel)
            case .body: break
            case .end: state.requestEnded()
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) { state.responseEnded() }
            context.write(data, promise: promise)
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.closed()
            context.fireChannelInactive()
        }
    }
}
