import Foundation
import KofuCrypto
import KofuDomain

/// Seal throughput on the calling thread (one core), for `kofu bench seal`: signs `iterations` seals of
/// one certificate, then verifies them all, best of `runs`.
public enum SealBenchmark {
    public struct Result: Sendable {
        /// Seals signed per second (payload encoding + ECDSA P-256 + Base45).
        public var signaturesPerSecond: Double
        /// Seals verified per second (Base45 + parsing + key lookup + ECDSA P-256 verification).
        public var verificationsPerSecond: Double
        /// Characters in one seal of the certificate.
        public var sealLength: Int
    }

    /// Errors that make a benchmark run meaningless.
    public enum Failure: Error, Equatable {
        /// A seal made during the run did not verify.
        case sealDidNotVerify
    }

    public static func run(certificate: Certificate, pages: Int = 1, iterations: Int, runs: Int) throws -> Result {
        let signedAt = JapanDay.end(of: certificate.issueDate).addingTimeInterval(-3600)
        let key = try ECDSAP256.PrivateKey.generate()
        let signer = SealSigner(privateKey: key)
        let ring = SealKeyring(entries: [SealKeyring.Entry(
            municipalityCode: certificate.municipality.code, publicKey: key.publicKey,
            notBefore: certificate.issueDate, signingUntil: nil, notAfter: certificate.issueDate.adding(days: 3650))])
        let verifier = SealVerifier(keyring: ring, municipalityCode: certificate.municipality.code)
        let clock = ContinuousClock()
        var bestSign = Duration.seconds(Int64.max / 2), bestVerify = bestSign
        var seals: [String] = []
        seals.reserveCapacity(iterations)
        for _ in 0..<max(1, runs) {
            seals.removeAll(keepingCapacity: true)
            let s = try clock.measure {
                for _ in 0..<iterations { seals.append(try signer.seal(certificate, pages: pages, signedAt: signedAt).text) }
            }
            var valid = 0
            let v = clock.measure {
                for seal in seals where verifier.verify(seal, at: certificate.issueDate).isValid { valid += 1 }
            }
            guard valid == iterations else { throw Failure.sealDidNotVerify }
            bestSign = min(bestSign, s)
            bestVerify = min(bestVerify, v)
        }
        func perSecond(_ d: Duration) -> Double {
            let (s, a) = d.components
            return Double(iterations) / (Double(s) + Double(a) / 1e18)
        }
        return Result(signaturesPerSecond: perSecond(bestSign), verificationsPerSecond: perSecond(bestVerify),
                      sealLength: try signer.seal(certificate, pages: pages, signedAt: signedAt).text.utf8.count)
    }
}
