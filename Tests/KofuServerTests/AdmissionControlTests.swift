import KofuServer
import Testing

/// Admission control: a bounded number of requests work, a bounded line waits a bounded time, the rest is shed.
@Suite struct AdmissionControlTests {
    @Test func aFullLineShedsAtOnceAndAReleasedSlotGoesToTheNextInLine() async throws {
        let admission = AdmissionControl(permits: 1, maxWaiting: 1, maxWait: .seconds(60))
        try await admission.acquire()
        #expect(admission.hasRoom, "one place in line")
        let waiting = Task { try await admission.acquire() }
        while admission.load().waiting == 0 { await Task.yield() }
        #expect(!admission.hasRoom)
        await #expect(throws: AdmissionControl.Overloaded.self) { try await admission.acquire() }
        #expect(admission.load() == (active: 1, waiting: 1))
        admission.release()
        try await waiting.value
        #expect(admission.load() == (active: 1, waiting: 0), "the slot passed to the waiter")
        admission.release()
        #expect(admission.load() == (active: 0, waiting: 0))
    }

    @Test func aRequestThatWaitsTooLongIsShedAndLeavesTheLine() async throws {
        let admission = AdmissionControl(permits: 1, maxWaiting: 8, maxWait: .milliseconds(50))
        try await admission.acquire()
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: AdmissionControl.Overloaded.self) { try await admission.acquire() }
        #expect(clock.now - start >= .milliseconds(50))
        #expect(admission.load() == (active: 1, waiting: 0))
        admission.release()
        try await admission.acquire()
        #expect(admission.load() == (active: 1, waiting: 0), "a free slot is taken at once")
        admission.release()
    }
}
