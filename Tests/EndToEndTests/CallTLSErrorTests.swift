import Foundation
import Testing

/// Issue 15 item 7.1: `adrnorm call` says which certificate was refused and
/// by which side, as the Python and Java clients do.
@Suite("adrnorm call: TLS errors name the certificate and the side that refused it", .serialized)
struct CallTLSErrorTests {
    static func call(port: Int, ca: String = DemoServer.certificate("ca.pem"), cert: String?, key: String?)
        throws -> AdrnormExecutable.Result
    {
        var arguments = ["call", "health", "--server", "127.0.0.1:\(port)", "--ca", ca, "--timeout", "10"]
        if let cert, let key { arguments += ["--cert", cert, "--key", key] }
        return try AdrnormExecutable.run(arguments)
    }

    @Test("untrusted CA, expired certificate, no certificate, wrong --ca, missing --cert file; a good one is served")
    func refusals() async throws {
        let (server, pipeline) = try DemoServer.start()
        let port = server.port
        let c = DemoServer.certificate

        let good = try Self.call(port: port, cert: c("client-a.pem"), key: c("client-a.key"))
        #expect(good.status == 0 && good.stdout.contains("SERVING"), "\(good.stderr)")

        for (name, alert) in [("client-untrusted", "unknown ca"), ("client-expired", "certificate expired")] {
            let r = try Self.call(port: port, cert: c("\(name).pem"), key: c("\(name).key"))
            #expect(r.status == 2)
            #expect(r.stderr.contains("the server refused our client certificate \(c("\(name).pem"))")
                    && r.stderr.contains("TLS alert: \(alert)"), "\(r.stderr)")
        }

        let none = try Self.call(port: port, cert: nil, key: nil)
        #expect(none.status == 2)
        #expect(none.stderr.contains("the server requires a client certificate and none was sent"), "\(none.stderr)")

        let wrongCA = try Self.call(port: port, ca: c("other-ca.pem"), cert: c("client-a.pem"), key: c("client-a.key"))
        #expect(wrongCA.status == 2)
        #expect(wrongCA.stderr.contains("the server's certificate failed verification against the CA file "
                                        + c("other-ca.pem"))
                && wrongCA.stderr.contains("refused by this client"), "\(wrongCA.stderr)")

        let missing = c("no-such-client.pem")
        let noFile = try Self.call(port: port, cert: missing, key: c("client-a.key"))
        #expect(noFile.status == 2)
        #expect(noFile.stderr.hasPrefix("adrnorm call: client certificate file \(missing): no such file"),
                "\(noFile.stderr)")

        let folder = FileManager.default.temporaryDirectory.path
        let unreadable = try Self.call(port: port, cert: folder, key: c("client-a.key"))
        #expect(unreadable.status == 2)
        #expect(unreadable.stderr.hasPrefix("adrnorm call: client certificate file \(folder): not a readable file"),
                "\(unreadable.stderr)")

        await DemoServer.stop(server, pipeline)
    }
}
