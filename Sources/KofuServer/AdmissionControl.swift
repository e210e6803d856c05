/// Bounded concurrent rendering: at most `permits` requests work at once and at most `maxWaiting` wait;
/// anything beyond is shed at once (OVERLOADED with Retry-After) instead of queueing without bound.
public actor AdmissionControl {
    public let permits: Int
    public let maxWaiting: Int
    private var active = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public struct Overloaded: Error {}

    public init(permits: Int, maxWaiting: Int) {
        self.permits = permits
        self.maxWaiting = maxWaiting
    }

    /// Takes a slot, waiting in line if one is free in the line; throws `Overloaded` otherwise.
    public func acquire() async throws {
        if active < permits {
            active += 1
            return
        }
        guard waiters.count < maxWaiting else { throw Overloaded() }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Gives a slot back (to the next in line, if any).
    public func release() {
        if waiters.isEmpty {
            active -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }

    /// Slots in use and requests waiting, for the dashboard and metrics.
    public func load() -> (active: Int, waiting: Int) { (active, waiters.count) }
}
