import Hummingbird
import HummingbirdTesting

extension ApplicationProtocol {
    /// `test(.live)` whose server stops without dropping a connection it has not yet taken.
    ///
    /// A server that stops while a connection waits in its listen backlog can accept that connection after its
    /// loop over new connections has ended; the connection's `NIOAsyncChannel` is then dropped unhandled and
    /// swift-nio traps with "Deinited NIOAsyncWriter without calling finish()" (apple/swift-nio#2637), killing
    /// the whole test process. Two things here keep every live test clear of it:
    /// - HummingbirdTesting's own client connects in the background when the server starts; with `warmUp` one
    ///   request goes through it first, so its connection has been taken and served before the test goes on
    ///   (a quick test could otherwise end while that connection still waits to be accepted);
    /// - HummingbirdTesting cancels the server when the test body throws, and a cancelled server stops taking
    ///   connections at once: here the body never throws into it; its error is rethrown after the graceful stop.
    func testLive<Value: Sendable>(warmUp: Bool = true,
                                   _ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let outcome: Result<Value, any Error> = try await test(.live) { client in
            do {
                if warmUp { _ = try await client.execute(uri: "/healthz", method: .get) }
                return .success(try await body(client))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
