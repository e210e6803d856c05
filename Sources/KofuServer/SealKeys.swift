import Foundation
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal
import KofuStorage
import Logging
import ServiceLifecycle
import Synchronization

/// The seal's signing key and published keyring as the running server uses them, re-read when
/// `kofu keys rotate` replaces the files, so a rotation takes effect without a restart. A change is
/// noticed within `SealKeyWatcher`'s interval, or at once on SIGHUP. New files are taken only as a whole
/// and only when they fit together (the private key's public half published in the keyring); otherwise the
/// server keeps signing with the keys it has and logs why.
public final class SealKeys: CertificateSealer, Sendable {
    struct Loaded: Sendable {
        var signer: SealSigner
        var keyring: SealKeyring
        var verifier: SealVerifier
        var stamp: [FileStamp?]
    }

    /// What identifies a file's version cheaply: inode, size and modification time.
    struct FileStamp: Sendable, Equatable {
        var inode: UInt64
        var size: Int64
        var modified: Double

        static func of(_ path: String) -> FileStamp? {
            guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
            return FileStamp(inode: (a[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0,
                             size: (a[.size] as? NSNumber)?.int64Value ?? 0,
                             modified: (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        }
    }

    /// Why new key files were not taken.
    public enum ReloadError: Error, Equatable, CustomStringConvertible {
        case unpublishedKey(keyID: String)
        case unreadable(String)

        public var description: String {
            switch self {
            case .unpublishedKey(let id): "the new private key \(id) is not in the keyring"
            case .unreadable(let what): what
            }
        }
    }

    let settings: SealSettings
    let municipalityCode: String
    private let state: Mutex<Loaded>

    /// Loads both files, refusing a private key others may read.
    public init(settings: SealSettings, municipalityCode: String) throws {
        self.settings = settings
        self.municipalityCode = municipalityCode
        state = Mutex(try Self.load(settings, municipalityCode))
    }

    private static func load(_ settings: SealSettings, _ municipalityCode: String) throws -> Loaded {
        // Stamps first: a change that lands while reading is seen again at the next check.
        let stamp = [FileStamp.of(settings.privateKeyFile), FileStamp.of(settings.keyringFile)]
        let signer = try SealSigner(privateKeyPEMFile: settings.privateKeyFile)
        let keyring = try SealKeyring.load(file: settings.keyringFile)
        guard keyring.entry(keyID: signer.keyID) != nil else {
            throw ReloadError.unpublishedKey(keyID: Hex.encode(signer.keyID))
        }
        return Loaded(signer: signer, keyring: keyring, verifier: SealVerifier(keyring: keyring, municipalityCode: municipalityCode),
                      stamp: stamp)
    }


    public func seal(_ certificate: Certificate, pages: Int, signedAt: Date) throws -> (text: String, record: SealRecord) {
        let signer = state.withLock { $0.signer }
        let sealed = try signer.seal(certificate, pages: pages, signedAt: signedAt)
        return (sealed.text, SealRecord(certificateNumber: certificate.number.value, contentDigest: Hex.encode(sealed.contentDigest),
                                        payloadDigest: Hex.encode(sealed.payloadDigest), keyID: Hex.encode(signer.keyID), signedAt: Int64(signedAt.timeIntervalSince1970)))
    }

    /// The signing key (for signing the published keyring).
    public var signer: SealSigner { state.withLock { $0.signer } }

    /// The keyring in force (published at `/.well-known/kofu/seal-keys.json`).
    public var keyring: SealKeyring { state.withLock { $0.keyring } }
    /// A verifier over the keyring in force.
    public var verifier: SealVerifier { state.withLock { $0.verifier } }
    /// The signing key's id, hex.
    public var signingKeyID: String { Hex.encode(state.withLock { $0.signer.keyID }) }

    /// Re-reads the files when either changed since they were loaded. Returns the signing key's id when the
    /// files were taken again, nil when nothing changed; throws (keeping the keys in force) when the new files
    /// cannot be used.
    @discardableResult
    public func reloadIfChanged() throws -> String? {
        let current = [FileStamp.of(settings.privateKeyFile), FileStamp.of(settings.keyringFile)]
        guard current != state.withLock({ $0.stamp }) else { return nil }
        let loaded: Loaded
        do {
            loaded = try Self.load(settings, municipalityCode)
        } catch {
            // Remember this version so a bad file is reported once, not every few seconds.
            state.withLock { $0.stamp = current }
            if let e = error as? ReloadError { throw e }
            throw ReloadError.unreadable("\(type(of: error)): \(error)")
        }
        state.withLock { $0 = loaded }
        return Hex.encode(loaded.signer.keyID)
    }
}

/// Checks the seal key files every few seconds and on SIGHUP, and takes a rotated key without a restart.
struct SealKeyWatcher: Service {
    let keys: SealKeys
    let interval: Duration
    let logger: Logger

    func run() async throws {
        reportIgnoredEntries()
        let hangups = SignalStream(signal: SIGHUP)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.events {
                    logger.notice("SIGHUP: checking the seal key files")
                    check()
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    check()
                }
            }
            await group.next()
            hangups.finish()
            group.cancelAll()
        }
    }

    func check() {
        do {
            if let id = try keys.reloadIfChanged() {
                logger.notice("seal keys reloaded", metadata: ["signing_key_id": "\(id)"])
                reportIgnoredEntries()
            }
        } catch {
            logger.error("new seal key files not taken; still signing with the previous key", metadata: ["reason": "\(error)"])
        }
    }
}

extension SealKeyWatcher {
    /// Keyring entries skipped by the forward-compatible rules (docs/seal.md §5.2) are named once per load.
    func reportIgnoredEntries() {
        for entry in keys.keyring.ignored {
            logger.warning("keyring entry ignored", metadata: ["entry": "\(entry)"])
        }
    }
}

/// A signal delivered as an async sequence (the default action is replaced while the stream lives).
final class SignalStream: @unchecked Sendable {
    let events: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let source: any DispatchSourceSignal

    init(signal number: Int32) {
        (events, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        signal(number, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        let continuation = self.continuation
        source.setEventHandler { continuation.yield() }
        source.resume()
    }

    func finish() {
        source.cancel()
        continuation.finish()
    }
}
