import Foundation
import Logging
import Normalization
import RPCServer
import ServiceAdapter
import Terminology
import Transport

/// What SIGHUP reloads in `adrnorm serve`, all or nothing: the server
/// certificate and key and the client CA, the allowlist (and its file), the
/// dictionary and the synonym list. With `--config` the file is read again
/// first, so new paths and a new allowlist in it apply too; a key that only a
/// restart can change is reported, not applied. The new state is
/// built to the side first; if any part fails nothing changes and the
/// reason is logged. Calls in flight finish on what they started with;
/// new handshakes use the new certificates; a new dictionary comes with an
/// empty result cache, so nothing computed for the old one is served.
final class ServeReloader: @unchecked Sendable {
    struct Counts: Sendable, Equatable {
        var succeeded = 0
        var failed = 0
    }

    /// Where a reload reads from: the paths and identities in force.
    struct Settings {
        var tls: TLSServerConfiguration
        var pipelineOptions: PipelineOptions
        var allowIdentities: [String]
        var allowIdentityFile: String?
        /// Changes seen in the config file that need a restart (logged).
        var restartOnly: [String] = []
    }

    private let server: RPCServer
    private let service: PipelineService
    /// Called at the start of every reload; a throw fails the reload.
    private let settings: () throws -> Settings
    private let logger: Logger
    /// Told the outcome of every reload (the reload metric).
    private let onReload: @Sendable (Bool) -> Void
    private let lock = NSLock()
    private var counts = Counts()

    init(server: RPCServer, service: PipelineService, settings: @escaping () throws -> Settings, logger: Logger,
         onReload: @escaping @Sendable (Bool) -> Void = { _ in }) {
        self.onReload = onReload
        self.server = server
        self.service = service
        self.settings = settings
        self.logger = logger
    }

    /// Reloads since start, by outcome.
    var reloads: Counts { lock.withLock { counts } }

    /// Reloads everything; true when the new state is in place.
    @discardableResult
    func reload() -> Bool {
        var notes: [String] = []
        do {
            let settings = try settings()
            let tls = settings.tls
            let identities = try Self.allowlist(settings.allowIdentities, file: settings.allowIdentityFile)
            let current = service.pipeline
            var replacement: NormalizationPipeline?
            let (dictionary, synonyms) = try settings.pipelineOptions.loadDictionary(
                command: "adrnorm serve: reload", report: { notes.append($0) })
            if dictionary.digest != current.dictionary.digest || dictionary.lltDigest != current.dictionary.lltDigest
                || synonyms?.digest != current.configuration.synonyms?.digest
                || dictionary.medDRAVersion != current.dictionary.medDRAVersion {
                replacement = try current.replacing(dictionary: dictionary, synonyms: synonyms)
            }
            // The last step that can fail; it swaps the certificates itself.
            try server.reloadTLS(tls)
            server.reloadAllowlist(identities)
            if let replacement { service.replacePipeline(replacement) }
            lock.withLock { counts.succeeded += 1 }
            onReload(true)
            logger.notice("adrnorm serve: reloaded", metadata: [
                "certificates": "\(tls.certificateChainPath)",
                "allowlist": "\(identities.isEmpty ? "any verified client" : "\(identities.count) identities")",
                "dictionary": "\(replacement == nil ? "unchanged" : "replaced") (digest \(dictionary.digest.prefix(16)))",
            ])
            if !settings.restartOnly.isEmpty {
                let keys = settings.restartOnly.joined(separator: ", ")
                logger.warning("adrnorm serve: the config file changes \(keys), which only a restart applies; not in force yet")
            }
            return true
        } catch {
            lock.withLock { counts.failed += 1 }
            onReload(false)
            logger.error("adrnorm serve: reload failed, nothing changed: \(error)", metadata: [
                "loaded_before_failing": "\(notes.joined(separator: "; "))",
            ])
            return false
        }
    }

    /// `--allow-identity` values plus the lines of `--allow-identity-file`
    /// (one identity per line; blank lines and lines starting with # are
    /// skipped; surrounding whitespace is trimmed).
    static func allowlist(_ identities: [String], file: String?) throws -> [String] {
        guard let file else { return identities }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CommandFailure("--allow-identity-file \(file): cannot read it as UTF-8 text (\(error.localizedDescription))")
        }
        var names = identities
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let name = line.trimmingCharacters(in: .whitespaces)
            if name.isEmpty || name.hasPrefix("#") { continue }
            names.append(name)
        }
        return names
    }
}
