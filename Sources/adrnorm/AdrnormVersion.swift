import CrossEncoder
import Transport
import Wire

/// The version the server reports: Info's server_version and server_name,
/// and with the git revision and the linked C libraries, `adrnorm --version`
/// and Info's build.
enum AdrnormVersion {
    static let current = "0.1.0"

    /// Read at run time: the libraries are the ones the loader linked, not
    /// the headers the build saw.
    static var build: AdrnormV1.BuildInfo {
        AdrnormV1.BuildInfo(version: current, gitRevision: GitRevision.current,
                            opensslVersion: TLSContext.openSSLVersion, protobufCVersion: ProtobufCLibrary.version,
                            blasVersion: LinkedBLAS.openBLAS, onednnVersion: LinkedBLAS.oneDNN)
    }

    /// What `adrnorm --version` prints.
    static var long: String {
        let b = build
        return """
            adrnorm \(b.version) (git \(b.gitRevision))
            OpenSSL: \(b.opensslVersion)
            protobuf-c: \(b.protobufCVersion)
            BLAS: \(b.blasVersion)
            oneDNN: \(b.onednnVersion)
            """
    }
}
