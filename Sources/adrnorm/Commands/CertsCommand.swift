import ArgumentParser
import Foundation

/// `adrnorm certs`: development certificates, made by the checkout's
/// `Certs/make-dev-certs` (openssl CLI), so there is one recipe.
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a development CA with server and client certificates (development only).",
        discussion: """
            Writes into --out: ca.pem/ca.key, server.pem/server.key (localhost, 127.0.0.1, ::1), \
            client-a and client-b (two identities), client-expired, other-ca and client-untrusted. \
            Runs Certs/make-dev-certs from the adrnorm checkout (found above the executable or the \
            current directory); needs the openssl command. Never use these certificates in production.
            """)

    @Option(help: "Output folder (made if missing).")
    var out: String
    @Flag(help: "Remake the certificates even when the folder is complete.")
    var force = false

    func run() throws {
        guard let script = DemoAssets.findAbove("Certs/make-dev-certs") else {
            throw ValidationError("cannot find Certs/make-dev-certs above the adrnorm executable or the current directory")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = [out] + (force ? ["--force"] : [])
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(script) failed with status \(process.terminationStatus)")
        }
    }
}
