import Foundation
import Testing
import RPCClient
import RPCServer
import Transport
import Wire

@Suite("OpenSSL server contexts")
struct TLSContextTests {
    @Test("a TLS 1.3 server context loads the generated certificate, key and client CA")
    func loads() throws {
        let context = try TLSContext(server: .init(certificateChainPath: DevCertificates.path("server.pem"),
                                                   privateKeyPath: DevCertificates.path("server.key"),
                                                   clientCAPath: DevCertificates.path("ca.pem")))
        #expect(context.configuration.minimumVersion == .tls13)
    }

    @Test("a mismatched key is rejected with an error naming both files")
    func mismatchedKey() {
        let cert = DevCertificates.path("server.pem"), key = DevCertificates.path("client-a.key")
        do {
            _ = try TLSContext(server: .init(certificateChainPath: cert, privateKeyPath: key,
                                             clientCAPath: DevCertificates.path("ca.pem")))
            Issue.record("a mismatched key was accepted")
        } catch {
            guard case .keyMismatch = error else { Issue.record("wrong error: \(error)"); return }
            #expect(error.description.contains(cert))
            #expect(error.description.contains(key))
            #expect(error.description.contains("does not match"))
        }
    }

    @Test("a missing or non-PEM file is named in the error")
    func badFiles() throws {
        let missing = "/nonexistent/server.pem"
        #expect {
            try TLSContext(server: .init(certificateChainPath: missing, privateKeyPath: DevCertificates.path("server.key"),
                                         clientCAPath: DevCertificates.path("ca.pem")))
        } throws: { error in
            "\(error)".contains(missing) && "\(error)".contains("no such file")
        }
        let notPEM = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-not-a-cert-\(getpid()).pem")
        try Data("hello".utf8).write(to: notPEM)
        defer { try? FileManager.default.removeItem(at: notPEM) }
        #expect {
            try TLSContext(server: .init(certificateChainPath: DevCertificates.path("server.pem"),
                                         privateKeyPath: DevCertificates.path("server.key"),
                                         clientCAPath: notPEM.path))
        } throws: { error in
            "\(error)".contains(notPEM.path) && "\(error)".contains("client CA")
        }
    }
}
