import ArgumentParser
import Foundation
import Logging
import Monitoring
import Normalization
import RPCServer
import ServiceAdapter
import Transport
import Wire

/// `adrnorm serve`: the six methods of docs/PROTOCOL.md §The service over mutually
/// authenticated TLS (docs/PROTOCOL.md §Transport and TLS), until SIGTERM/SIGINT drains it.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve Retrieve, Score, Normalize, NormalizeStream, Info and Health over mutually authenticated TLS.",
        discussion: """
            Without --model/--dictionary the SYNTHETIC demo assets in Demo/ are served (not MedDRA, not for \
            clinical use), and the first log line says so. Clients must present a certificate that chains to \
            --client-ca; --allow-identity (repeatable) further restricts them to the listed SAN URI/DNS or CN \
            identities (others get PERMISSION_DENIED). SIGTERM or SIGINT drains: GoAway to every connection, \
            accepted calls finish, new ones get UNAVAILABLE, exit 0 within --drain-timeout. SIGHUP reloads, all \
            or nothing, the certificate, key and client CA files, --allow-identity-file, the dictionary and the \
            synonym list: calls in flight finish on the old state, new handshakes and calls use the new one, a \
            failed reload changes nothing and logs why. Logs go to stderr. \
            A request's top_k (0: the default, 100) above the dictionary's PT count is capped to that count \
            (every PT is a candidate); the cap is logged at start and Info reports the capped default. A model \
            whose config.json names no "match" label is served with index 1 as the match label, with a warning; \
            a vocab.txt shorter than vocab_size is refused unless --allow-vocab-mismatch. \
            --config FILE reads any of these flags from a file of key = value lines (flags given here win; \
            --print-config shows the result); SIGHUP re-reads it (docs/OPERATIONS.md §Config file). \
            --metrics-listen serves Prometheus metrics at GET /metrics over plain HTTP (keep it on loopback or a \
            private network); --log-format json writes every log line as JSON and adds an audit line per call and per \
            connection (docs/OPERATIONS.md).
            """)

    /// How log lines are written.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        /// swift-log's plain lines.
        case text
        /// One JSON object a line, with the audit lines.
        case json
    }

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: ArgumentHelp(
        "Config file: any serve flag as `key = value` (a TOML subset; docs/OPERATIONS.md); flags given here override it.",
        discussion: "Keys are the flags' long names; relative paths are taken from the file's folder. SIGHUP re-reads it "
            + "for what a reload changes (certificate, key and CA paths, allowlist, dictionary, synonyms).",
        valueName: "file"))
    var config: String?
    @Flag(name: .customLong("print-config"),
          help: "Print the effective configuration (flags, then --config, then defaults) in the config file's format, and exit.")
    var printConfig = false

    @Option(help: "Address to listen on: HOST:PORT or [IPV6]:PORT (port 0 picks a free one, logged).")
    var listen: String = "127.0.0.1:7443"
    @Option(help: "Server certificate chain, PEM.")
    var cert: String
    @Option(help: "Server private key, PEM.")
    var key: String
    @Option(name: .customLong("client-ca"), help: "CA bundle that client certificates must chain to, PEM.")
    var clientCA: String?
    @Option(name: .customLong("allow-identity"), help: "Client identity (SAN URI/DNS or CN) allowed to call; repeatable.")
    var allowIdentity: [String] = []
    @Option(name: .customLong("allow-identity-file"),
            help: "File of allowed client identities, one per line (# comments); added to --allow-identity and re-read on SIGHUP.")
    var allowIdentityFile: String?
    @Flag(name: .customLong("insecure-no-client-auth"), help: "Accept clients without certificates (development only; logged loudly).")
    var insecureNoClientAuth = false
    @Option(name: .customLong("tls-min-version"), help: "Lowest TLS version accepted (ECDHE + AEAD suites only).")
    var tlsMinVersion: TLSMinimumVersion = .tls13
    @Option(name: .customLong("max-connections"), help: "Authenticated connections served at once; past it a new one gets GoAway RESOURCE_EXHAUSTED after its handshake.")
    var maxConnections: Int = 256
    @Option(name: .customLong("max-unauthenticated-connections"),
            help: "Connections not yet admitted (TLS handshake under way, or an identity not on the allowlist); when full, the oldest is closed. Never counted against --max-connections.")
    var maxUnauthenticatedConnections: Int = 256
    @Option(name: .customLong("handshake-timeout"),
            help: "Seconds a connection may take to finish its TLS handshake (0.001 to 86400, one day).")
    var handshakeTimeout: Double = 10
    @Option(name: .customLong("idle-timeout"),
            help: "Seconds without streams or traffic before an idle connection is closed (0: never; else 0.001 to 86400).")
    var idleTimeout: Double = 300
    @Option(name: .customLong("stream-idle-timeout"),
            help: "Seconds a stream may go with no work in progress and nothing from its client before it is ended with DEADLINE_EXCEEDED (0: never; else 0.001 to 86400).")
    var streamIdleTimeout: Double = 300
    @Option(name: .customLong("write-timeout"),
            help: "Seconds a connection's unsent output may stay unread by its client before the connection is closed (0: never; else 0.001 to 86400).")
    var writeTimeout: Double = 60
    @Option(name: .customLong("max-request-mib-per-connection"),
            help: "MiB of requests one connection may hold (not yet half-closed, or being served); a message past it ends its call with RESOURCE_EXHAUSTED.")
    var maxRequestMiBPerConnection: Int = 32
    @Option(name: .customLong("max-request-mib"), help: "The same over all connections together.")
    var maxRequestMiB: Int = 256
    @Option(name: .customLong("max-queued-output-mib-per-connection"),
            help: "MiB of unsent responses one connection may hold; a response past it is replaced by RESOURCE_EXHAUSTED (the client is not reading).")
    var maxQueuedOutputMiBPerConnection: Int = 32
    @Option(name: .customLong("max-queued-output-mib"), help: "The same over all connections together.")
    var maxQueuedOutputMiB: Int = 512
    @Option(name: .customLong("drain-timeout"),
            help: "Seconds that graceful shutdown waits for accepted calls (0 to 86400).")
    var drainTimeout: Double = 30
    @Option(name: .customLong("max-unscored-calls"),
            help: "Retrieve, Info and Health calls in progress at once; past it they get RESOURCE_EXHAUSTED. (Score and Normalize are admitted by --max-queued-pairs.)")
    var maxUnscoredCalls: Int = PipelineService.Limits.defaultMaxUnscoredCalls
    @Option(name: .customLong("max-pairs-per-request"),
            help: "Pairs one Score may carry and candidates one Normalize may score (its top_k); more is INVALID_ARGUMENT before any work.")
    var maxPairsPerRequest: Int = PipelineService.Limits.defaultMaxPairsPerRequest
    @Option(name: .customLong("max-queued-pairs-per-client"),
            help: "Pairs one client identity may have waiting or being scored at once, counted as --max-queued-pairs counts them (a lexical call, a synonym or cache hit scores none) (default: half of --max-queued-pairs).")
    var maxQueuedPairsPerClient: Int?
    // Removed: calls no longer wait on worker threads; a clear error instead of "unknown option".
    @Option(name: .customLong("worker-threads"), help: .hidden)
    var removedWorkerThreads: Int?
    @Option(name: .customLong("max-queued-calls"), help: .hidden)
    var removedMaxQueuedCalls: Int?
    @Option(name: .customLong("max-concurrent-streams"), help: "Streams one connection may have open at once.")
    var maxConcurrentStreams: UInt32 = 64
    @Option(name: .customLong("initial-stream-credit"), help: "Messages a client may send on a stream before Credit.")
    var initialStreamCredit: UInt32 = 16
    @Option(name: .customLong("log-level"), help: "Lowest level of the log lines written to stderr.")
    var logLevel: Logger.Level = .info
    @Option(name: .customLong("malloc-arenas"),
            help: "glibc malloc arenas (1 to 1024; 0: glibc's default of 8 per core, or MALLOC_ARENA_MAX). More arenas keep more freed memory after bursts of connections.")
    var mallocArenas: Int = MallocArenas.serveDefault
    @Option(name: .customLong("log-format"),
            help: "text, or json: one JSON object a line, plus an audit line per call (identity, method, status, mentions, pairs, cache hits, latency, dictionary version) and per connection open, close and handshake failure.")
    var logFormat: LogFormat = .text
    @Option(name: .customLong("metrics-listen"),
            help: "Serve Prometheus metrics at GET /metrics on this HOST:PORT (plain HTTP, e.g. 127.0.0.1:9464; default: off).")
    var metricsListen: String?

    func validate() throws {
        if removedWorkerThreads != nil || removedMaxQueuedCalls != nil {
            throw ValidationError("--worker-threads and --max-queued-calls were removed: calls no longer wait on worker "
                                  + "threads. Score and Normalize are admitted by --max-queued-pairs (pairs); Retrieve, "
                                  + "Info and Health by --max-unscored-calls")
        }
        guard maxUnscoredCalls >= 1 else {
            throw ValidationError("--max-unscored-calls must be at least 1 (got \(maxUnscoredCalls))")
        }
        guard maxPairsPerRequest >= 1 else {
            throw ValidationError("--max-pairs-per-request must be at least 1 (got \(maxPairsPerRequest))")
        }
        if let share = maxQueuedPairsPerClient, share < 1 || share > pipelineOptions.maxQueuedPairs {
            throw ValidationError("--max-queued-pairs-per-client must be 1 … --max-queued-pairs "
                                  + "(\(pipelineOptions.maxQueuedPairs)) (got \(share))")
        }
        if let metricsListen {
            do {
                _ = try SocketAddress(parsing: metricsListen)
            } catch {
                throw ValidationError("--metrics-listen \(metricsListen): \(error)")
            }
        }
        if clientCA == nil && !insecureNoClientAuth {
            throw ValidationError("--client-ca PEM is required (or --insecure-no-client-auth, for development only)")
        }
        if insecureNoClientAuth && (!allowIdentity.isEmpty || allowIdentityFile != nil) {
            throw ValidationError("--allow-identity needs client certificates; drop --insecure-no-client-auth")
        }
        for (flag, value) in [("--max-connections", maxConnections),
                              ("--max-unauthenticated-connections", maxUnauthenticatedConnections),
                              ("--max-concurrent-streams", Int(maxConcurrentStreams)),
                              ("--initial-stream-credit", Int(initialStreamCredit))] {
            guard value >= 1 && value <= 1_000_000 else {
                throw ValidationError("\(flag) must be 1 to 1000000 (got \(value))")
            }
        }
        guard (0...1024).contains(mallocArenas) else {
            throw ValidationError("--malloc-arenas must be 0 (glibc's default) or 1 to 1024 (got \(mallocArenas))")
        }
        try Self.checkSeconds(handshakeTimeout, flag: "--handshake-timeout", zeroAllowed: false)
        try Self.checkSeconds(idleTimeout, flag: "--idle-timeout", zeroAllowed: true, zeroMeans: "never")
        try Self.checkSeconds(drainTimeout, flag: "--drain-timeout", zeroAllowed: true, zeroMeans: "close at once")
        try Self.checkSeconds(streamIdleTimeout, flag: "--stream-idle-timeout", zeroAllowed: true, zeroMeans: "never")
        try Self.checkSeconds(writeTimeout, flag: "--write-timeout", zeroAllowed: true, zeroMeans: "never")
        // A frame may be 4 MiB: every budget must take at least one.
        for (flag, value) in [("--max-request-mib-per-connection", maxRequestMiBPerConnection),
                              ("--max-request-mib", maxRequestMiB),
                              ("--max-queued-output-mib-per-connection", maxQueuedOutputMiBPerConnection),
                              ("--max-queued-output-mib", maxQueuedOutputMiB)] {
            guard value >= 4 && value <= 1 << 20 else {
                throw ValidationError("\(flag) must be 4 to 1048576 MiB, at least one largest frame (got \(value))")
            }
        }
        guard maxRequestMiB >= maxRequestMiBPerConnection else {
            throw ValidationError("--max-request-mib (\(maxRequestMiB) MiB) must be at least "
                                  + "--max-request-mib-per-connection (\(maxRequestMiBPerConnection) MiB)")
        }
        guard maxQueuedOutputMiB >= maxQueuedOutputMiBPerConnection else {
            throw ValidationError("--max-queued-output-mib (\(maxQueuedOutputMiB) MiB) must be at least "
                                  + "--max-queued-output-mib-per-connection (\(maxQueuedOutputMiBPerConnection) MiB)")
        }
    }

    /// The largest value of every seconds flag: one day
    /// (`ServerConfiguration.maximumTimeout`), so that no deadline
    /// arithmetic can overflow and a typo such as 1e10 is an error, not a trap.
    static let maximumSeconds = 86_400.0
    /// The smallest non-zero value: one millisecond, the unit the durations are kept in.
    static let minimumSeconds = 0.001

    /// Refuses NaN, infinities, negatives and values outside
    /// `minimumSeconds ... maximumSeconds` (0 too where `zeroAllowed`), naming the flag.
    static func checkSeconds(_ value: Double, flag: String, zeroAllowed: Bool, zeroMeans: String = "") throws {
        if zeroAllowed && value == 0 { return }
        guard value >= minimumSeconds && value <= maximumSeconds else {
            let range = "\(zeroAllowed ? "0 (\(zeroMeans)) or " : "")0.001 to 86400 seconds (one day)"
            throw ValidationError("\(flag) must be \(range) (got \(value))")
        }
    }

    /// A validated seconds flag as a Duration, to the millisecond.
    static func duration(seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Every config key's value in this command (nil: not set, the default
    /// applies), in `ServeConfigFile.keys` order; `--print-config` writes it
    /// and a reload compares it.
    func effectiveConfiguration() -> [(key: String, value: ServeConfigFile.Value?)] {
        typealias V = ServeConfigFile.Value
        let p = pipelineOptions
        let values: [String: V?] = [
            "model": p.model.map(V.string), "no-model": .boolean(p.noModel), "dictionary": p.dictionary.map(V.string),
            "encoding": .string(p.encoding), "max-length": .integer(p.maxLength),
            "max-batch-tokens": .integer(p.maxBatchTokens), "max-queued-pairs": .integer(p.maxQueuedPairs),
            "threads": .integer(p.threads), "precision": .string(p.precision.rawValue), "cache-size": .integer(p.cacheSize),
            "dictionary-version": p.dictionaryVersion.map(V.string), "synonyms": p.synonyms.map(V.string),
            "synonyms-encoding": .string(p.synonymsEncoding), "synonym-folding": .string(p.synonymFolding.rawValue),
            "review-margin": .number(p.reviewMargin), "allow-vocab-mismatch": .boolean(p.allowVocabMismatch),
            "listen": .string(listen), "cert": .string(cert), "key": .string(key), "client-ca": clientCA.map(V.string),
            "allow-identity": .strings(allowIdentity), "allow-identity-file": allowIdentityFile.map(V.string),
            "insecure-no-client-auth": .boolean(insecureNoClientAuth), "tls-min-version": .string(tlsMinVersion.rawValue),
            "max-connections": .integer(maxConnections),
            "max-unauthenticated-connections": .integer(maxUnauthenticatedConnections),
            "handshake-timeout": .number(handshakeTimeout), "idle-timeout": .number(idleTimeout),
            "stream-idle-timeout": .number(streamIdleTimeout), "write-timeout": .number(writeTimeout),
            "max-request-mib-per-connection": .integer(maxRequestMiBPerConnection),
            "max-request-mib": .integer(maxRequestMiB),
            "max-queued-output-mib-per-connection": .integer(maxQueuedOutputMiBPerConnection),
            "max-queued-output-mib": .integer(maxQueuedOutputMiB), "drain-timeout": .number(drainTimeout),
            "max-unscored-calls": .integer(maxUnscoredCalls), "max-pairs-per-request": .integer(maxPairsPerRequest),
            "max-queued-pairs-per-client": maxQueuedPairsPerClient.map(V.integer),
            "max-concurrent-streams": .integer(Int(maxConcurrentStreams)),
            "initial-stream-credit": .integer(Int(initialStreamCredit)), "log-level": .string(logLevel.rawValue),
            "malloc-arenas": .integer(mallocArenas), "log-format": .string(logFormat.rawValue),
            "metrics-listen": metricsListen.map(V.string),
        ]
        return ServeConfigFile.keys.map { entry in
            guard let value = values[entry.name] else { preconditionFailure("no value for config key \(entry.name)") }
            return (entry.name, value)
        }
    }

    func tlsConfiguration() -> TLSServerConfiguration {
        TLSServerConfiguration(certificateChainPath: cert, privateKeyPath: key, clientCAPath: clientCA,
                               requireClientCertificate: !insecureNoClientAuth, minimumVersion: tlsMinVersion)
    }

    /// The keys a reload applies; any other change in the config file waits for a restart.
    static let reloadableKeys: Set<String> = ["cert", "key", "client-ca", "allow-identity", "allow-identity-file",
                                              "dictionary", "encoding", "dictionary-version", "synonyms",
                                              "synonyms-encoding", "synonym-folding"]

    /// What each SIGHUP reloads from: this command's paths, or with
    /// `--config` the file read again (with the same command-line flags on
    /// top). A file that no longer parses or validates fails the reload.
    func reloadSettings(tls: TLSServerConfiguration,
                        commandLine: [String] = Array(CommandLine.arguments.dropFirst())) -> () throws -> ServeReloader.Settings {
        let fixed = ServeReloader.Settings(tls: tls, pipelineOptions: pipelineOptions, allowIdentities: allowIdentity,
                                           allowIdentityFile: allowIdentityFile)
        guard config != nil else { return { fixed } }
        let started = self
        return {
            guard let expanded = try ServeConfigFile.expand(commandLine) else { return fixed }
            let fresh: Serve
            do {
                fresh = try Serve.parse(Array(expanded.arguments.dropFirst()))
            } catch {
                let message = Serve.message(for: error)
                throw CommandFailure(ServeConfigFile.locate(message, path: expanded.file.path, origins: expanded.origins)
                                     ?? "config file \(expanded.file.path): \(message)")
            }
            let before = Dictionary(uniqueKeysWithValues: started.effectiveConfiguration().map { ($0.key, $0.value) })
            let restartOnly = fresh.effectiveConfiguration().filter { entry in
                !Self.reloadableKeys.contains(entry.key) && before[entry.key] != entry.value
            }.map(\.key)
            // Whether clients need certificates, and the lowest TLS version, stay as started.
            var newTLS = fresh.tlsConfiguration()
            newTLS.requireClientCertificate = tls.requireClientCertificate
            newTLS.minimumVersion = tls.minimumVersion
            return ServeReloader.Settings(tls: newTLS, pipelineOptions: fresh.pipelineOptions,
                                          allowIdentities: fresh.allowIdentity, allowIdentityFile: fresh.allowIdentityFile,
                                          restartOnly: restartOnly)
        }
    }

    /// `--print-config`: a file `--config` takes back unchanged.
    func printedConfiguration() -> String {
        var text = "# adrnorm serve: effective configuration (adrnorm \(AdrnormVersion.current))\n"
        if let config { text += "# read from \(config), then the command line's flags\n" }
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        for (key, value) in effectiveConfiguration() {
            guard var value else { text += "# \(key) is not set\n"; continue }
            // Absolute, so that the printout means the same files wherever it is saved.
            if ServeConfigFile.kinds[key] == .path, case .string(let path) = value, !path.isEmpty, !path.hasPrefix("/") {
                value = .string(URL(fileURLWithPath: path, relativeTo: here).standardizedFileURL.path)
            }
            text += "\(key) = \(value)\n"
        }
        return text
    }

    func run() async throws {
        if printConfig {
            FileHandle.standardOutput.write(Data(printedConfiguration().utf8))
            return
        }
        // Before the model, the BLAS threads and the connections allocate.
        let arenasCapped = MallocArenas.limit(to: mallocArenas)
        let level = logLevel
        let writer = LineWriter(.standardError)
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label, writer: writer)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "adrnorm.serve")
        logger.notice("adrnorm serve: adrnorm \(AdrnormVersion.current) (git \(GitRevision.current))")
        if !arenasCapped { logger.warning("adrnorm serve: glibc refused --malloc-arenas \(mallocArenas); using its default") }
        let metrics = metricsListen.map { _ in ServerMetrics() }
        let (pipeline, modelDirectory) = try pipelineOptions.makePipeline(
            command: "adrnorm serve", report: { logger.notice("\($0)") }, warn: { logger.warning("\($0)") },
            configure: { configuration in
                if let metrics {
                    configuration.scheduling.batchObserver = { pairs, tokens in metrics.batchScored(pairs: pairs, tokens: tokens) }
                }
            })
        let pts = pipeline.dictionary.terms.count
        guard pipeline.effectiveDefaultTopK <= maxPairsPerRequest else {
            throw ValidationError("the default top_k (\(pipeline.effectiveDefaultTopK)) is above --max-pairs-per-request "
                                  + "(\(maxPairsPerRequest)): every call that left top_k at 0 would be refused; "
                                  + "lower --top-k or raise --max-pairs-per-request")
        }
        if let note = try pipeline.resolveTopK(nil).capNote(name: "top_k") {
            logger.warning("adrnorm serve: \(note); a request's top_k above \(pts) is capped to \(pts) too")
        } else {
            logger.notice("adrnorm serve: top_k: default \(pipeline.effectiveDefaultTopK); a request's top_k above the dictionary's \(pts) PTs is capped to \(pts)")
        }
        let tls = tlsConfiguration()
        let configuration = ServerConfiguration(
            listenAddress: listen, tls: tls,
            allowedIdentities: try ServeReloader.allowlist(allowIdentity, file: allowIdentityFile),
            maxConnections: maxConnections,
            maxUnauthenticatedConnections: maxUnauthenticatedConnections,
            handshakeTimeout: Self.duration(seconds: handshakeTimeout),
            idleTimeout: idleTimeout == 0 ? nil : Self.duration(seconds: idleTimeout),
            maxConcurrentStreams: maxConcurrentStreams, initialStreamCredit: initialStreamCredit,
            maxRequestBytesPerConnection: maxRequestMiBPerConnection << 20, maxRequestBytes: maxRequestMiB << 20,
            maxQueuedOutputBytesPerConnection: maxQueuedOutputMiBPerConnection << 20,
            maxQueuedOutputBytes: maxQueuedOutputMiB << 20,
            streamIdleTimeout: streamIdleTimeout == 0 ? nil : Self.duration(seconds: streamIdleTimeout),
            writeTimeout: writeTimeout == 0 ? nil : Self.duration(seconds: writeTimeout),
            serverName: "adrnorm \(AdrnormVersion.current)")
        let service = PipelineService(pipeline: pipeline, description: .init(
            serverVersion: AdrnormVersion.current,
            modelName: modelDirectory.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "",
            modelIsSynthetic: pipelineOptions.model == nil && !pipelineOptions.noModel,
            dictionaryIsSynthetic: pipelineOptions.dictionary == nil, connectionLimits: configuration.wireLimits,
            build: AdrnormVersion.build),
            limits: .init(maxPairsPerRequest: maxPairsPerRequest, maxQueuedPairsPerClient: maxQueuedPairsPerClient,
                          maxUnscoredCalls: maxUnscoredCalls))
        var observers: [any ServerObserver] = []
        if let metrics { observers.append(metrics) }
        if format == .json { observers.append(AuditLog(writer: writer)) }
        let server = try RPCServer(configuration: configuration, service: service,
                                   logger: Logger(label: "adrnorm.rpc"),
                                   observer: observers.isEmpty ? nil : ObserverGroup(observers))
        try server.start()
        logger.notice("adrnorm serve: listening on \(listen) (port \(server.port)), TLS \(tlsMinVersion.rawValue)+, ALPN adrn/1")
        var metricsServer: MetricsHTTPServer? = nil
        if let metrics, let metricsListen {
            metrics.setSnapshot { [weak server] in
                let pipeline = service.pipeline
                return ServerMetrics.Snapshot(
                    queuedPairs: pipeline.schedulerStatistics?.queuedPairs ?? 0,
                    certificateNotAfter: server?.certificateNotAfter,
                    serving: .init(modelDigest: pipeline.modelDigest ?? "",
                                   precision: pipeline.model?.model.options.precision.rawValue ?? "",
                                   dictionaryVersion: pipeline.dictionary.medDRAVersion ?? "",
                                   dictionaryDigest: pipeline.dictionary.digest))
            }
            let endpoint = try MetricsHTTPServer(listen: metricsListen, logger: Logger(label: "adrnorm.metrics"),
                                                 body: { metrics.exposition() })
            try endpoint.start()
            metricsServer = endpoint
            logger.notice("adrnorm serve: metrics at http://\(metricsListen)/metrics (port \(endpoint.port)), plain HTTP")
        }

        // SIGHUP: reload certificates, allowlist, dictionary and synonyms (re-reading --config).
        let reloader = ServeReloader(server: server, service: service, settings: reloadSettings(tls: tls),
                                     logger: logger, onReload: { metrics?.reloaded(succeeded: $0) })
        let reloads = TerminationSignals(signals: [SIGHUP], queue: DispatchQueue(label: "adrnorm.serve.reload")) { _ in
            reloader.reload()
        }
        let signal = SignalWaiter()
        let signals = TerminationSignals { number in signal.fire(number) }
        let number = await signal.wait()
        logger.notice("adrnorm serve: signal \(number): draining (up to \(drainTimeout) s)")
        await server.shutdown(drainTimeout: Self.duration(seconds: drainTimeout))
        metricsServer?.stop()
        pipeline.shutdown()
        withExtendedLifetime((signals, reloads)) {}
        logger.notice("adrnorm serve: stopped")
    }
}
