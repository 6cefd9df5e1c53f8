import Foundation
internal import COpenSSL

extension TLSContext {
    /// The OpenSSL linked at run time, as it names itself ("OpenSSL 3.0.22 25 Aug 2026").
    public static var openSSLVersion: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }

    /// When the server certificate (the first of the chain) stops being
    /// valid; nil if it cannot be read.
    public var certificateNotAfter: Date? {
        guard let certificate = SSL_CTX_get0_certificate(context),
              let notAfter = X509_get0_notAfter(certificate) else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(notAfter, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
