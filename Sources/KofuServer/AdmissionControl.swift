import Foundation
import Synchronization

/// Bounded concurrent rendering: at most `permits` requests work at once; at most `maxWaiting` wait, each for
/// at most `maxWait`; anything beyond is shed at once (OVERLOADED with Retry-After) instead of queueing
/// without bound. Bounding the wait bounds the latency of the requests that are accepted under overload.
public final class AdmissionControl: Sendable {
    public let permits: Int
    public let maxWaiting: Int
    public let maxWait: Duration

    public struct Overloaded: Error {}

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
        /// Sheds the waiter after `maxWait`; cancelled when it is admitted first.
        var timer: Task<Void, Never>?
    }

    private struct State {
        var active = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(permits: Int, maxWaiting: Int, maxWait: Duration = .seconds(3600)) {
        self.permits = permits
        self.maxWaiting = maxWaiting
        self.maxWait = maxWait
    }

    /// Whether a request would be admitted or queued now (no side effect): the cheap test made before any
    /// database work, so that shedding costs next to nothing.
    public var hasRoom: Bool {
        state.withLock { $0.active < permits || $0.waiters.count < maxWaiting }
    }

    /// Takes a slot, waiting in line if the line has room; throws `Overloaded` when it has none or when no
    /// slot frees up within `maxWait`. Every successful `acquire` must be paired with one `release`.
    public func acquire() async throws {
        enum Entry { case admitted, shed, queued(UInt64) }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let entry: Entry = state.withLock { s in
                if s.active < permits { s.active += 1; return .admitted }
                guard s.waiters.count < maxWaiting else { return .shed }
                s.nextID += 1
                s.waiters.append(Waiter(id: s.nextID, continuation: continuation))
                return .queued(s.nextID)
            }
            switch entry {
            case .admitted: continuation.resume()
            case .shed: continuation.resume(throwing: Overloaded())
            case .queued(let id):
                let maxWait = self.maxWait
                let timer = Task { [weak self] in
                    do { try await Task.sleep(for: maxWait) } catch { return }
                    self?.timeOut(id)
                }
                let admittedMeanwhile = state.withLock { s in
                    guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return true }
                    s.waiters[i].timer = timer
                    return false
                }
                if admittedMeanwhile { timer.cancel() }
            }
        }
    }

    /// Gives a slot back: to the next in line, if any.
    public func release() {
        let next: Waiter? = state.withLock { s in
            if s.waiters.isEmpty { s.active -= 1; return nil }
            return s.waiters.removeFirst()
        }
        next?.timer?.cancel()
        next?.continuation.resume()
    }

    private func timeOut(_ id: UInt64) {
        let expired: Waiter? = state.withLock { s in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        expired?.continuation.resume(throwing: Overloaded())
    }

    /// Slots in use and requests waiting, for the dashboard and metrics.
    public func load() -> (active: Int, waiting: Int) {
        state.withLock { ($0.active, $0.waiters.count) }
    }
}
