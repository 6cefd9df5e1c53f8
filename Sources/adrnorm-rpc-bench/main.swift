// adrnorm-rpc-bench: Health round trips/s and p50/p99 latency over mutual TLS
// on loopback (server and clients in this process).
//   adrnorm-rpc-bench [CERT_DIR] [SECONDS]     (CERT_DIR from Certs/make-dev-certs; default Certs/out)
import Foundation
import RPC

let arguments = CommandLine.arguments.dropFirst()
let certificates = arguments.first ?? "Certs/out"
let seconds = arguments.dropFirst().first.flatMap(Int.init) ?? 3
guard FileManager.default.fileExists(atPath: (certificates as NSString).appendingPathComponent("server.pem")) else {
    FileHandle.standardError.write(Data("adrnorm-rpc-bench: no certificates in \(certificates); run Certs/make-dev-certs \(certificates)\n".utf8))
    exit(2)
}
do {
    let results = try await RPCBenchmark.run(certificates: certificates, duration: .seconds(seconds))
    print("Health over mTLS on loopback, \(seconds) s per scenario, \(ProcessInfo.processInfo.activeProcessorCount) cores shared by client and server")
    for r in results {
        print(String(format: "%-48@ %9.0f calls/s   p50 %7.1f µs   p99 %7.1f µs   failures %d",
                     r.scenario.name as NSString, r.callsPerSecond, r.p50Microseconds, r.p99Microseconds, r.failures))
    }
} catch {
    FileHandle.standardError.write(Data("adrnorm-rpc-bench: \(error)\n".utf8))
    exit(1)
}
