import Testing
@testable import KofuStorage

/// `KofuDatabase.close` waits for PostgresNIO's pool only so long (its `run()` was seen never to return).
@Suite struct DatabaseCloseTests {
    @Test func aTaskThatFinishesIsSeenToFinish() async {
        let quick = Task<Void, Never> { try? await Task.sleep(for: .milliseconds(20)) }
        #expect(await KofuDatabase.finished(quick, within: .seconds(30)))
    }

    @Test func aTaskThatNeverFinishesIsLeftBehindAfterTheLimit() async {
        // Ignores cancellation, like the pool's run() that was seen to hang, until the test lets it go.
        let gate = FirstAnswer<Bool>()
        let stuck = Task<Void, Never> { _ = await withCheckedContinuation { gate.wait($0) } }
        stuck.cancel()
        #expect(await !KofuDatabase.finished(stuck, within: .milliseconds(200)))
        gate.settle(true)
        #expect(await KofuDatabase.finished(stuck, within: .seconds(30)))
    }
}
