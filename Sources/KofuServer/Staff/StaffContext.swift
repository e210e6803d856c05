import Hummingbird
import KofuStorage

/// A request context that can carry the signed-in staff member. The application's context conforms to
/// it so that staff routes can be mounted on the same router as everything else.
public protocol StaffRequestContext: RequestContext {
    /// Set by `StaffSessionMiddleware` when the request has a live session cookie.
    var staff: StaffUser? { get set }
}

/// The plain request context for staff routes (and tests).
public struct BasicStaffRequestContext: StaffRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var staff: StaffUser?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        staff = nil
    }
}
