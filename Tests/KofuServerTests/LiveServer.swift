import Hummingbird
import HummingbirdTesting

extension ApplicationProtocol {
    /// `test(.live)` whose server always stops gracefully, also when `body` throws.
    ///
    /// HummingbirdTesting cancels the server's task when the test body throws, and a server cancelled while a
    /// connection is being accepted drops that connection's `NIOAsyncChannel` unhandled: swift-nio then traps
    /// with "Deinited NIOAsyncWriter without calling finish()" (apple/swift-nio#2637), killing the whole test
    /// process. Here the body never throws into HummingbirdTesting: its error is carried out and rethrown after
    /// the graceful shutdown has finished.
    func testLive<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let outcome: Result<Value, any Error> = try await test(.live) { client in
            do { return .success(try await body(client)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
}
