import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 13, item 2: `adrnorm serve --config FILE` and `--print-config`.
@Suite(.serialized) struct ConfigFileTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `adrnorm serve --config <file with text> extra…`.
    static func serve(config text: String, _ extra: [String] = [], name: String = "serve.toml") throws
        -> (AdrnormExecutable.Result, URL)
    {
        let dir = try folder()
        let file = dir.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return (try AdrnormExecutable.run(["serve", "--config", file.path] + extra), dir)
    }

    /// The `key = value` lines of a printout (comments dropped).
    static func values(_ printout: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in printout.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { out[parts[0]] = parts[1] }
        }
        return out
    }

    @Test("--print-config: values from the file, flags over them, relative paths from the file's folder, defaults for the rest")
    func printConfig() throws {
        let (result, dir) = try Self.serve(config: """
            # a production-like file
            listen = "0.0.0.0:7443"
            cert = "certs/server.pem"   # relative: to this file's folder
            key = 'certs/server.key'
            client-ca = "/etc/adrnorm/ca.pem"
            allow-identity = [
              "spiffe://safety/a",  # team a
              "batch.b.test",
            ]
            max-connections = 1_000
            handshake-timeout = 5
            review-margin = 0.05
            precision = "int8"
            no-model = true
            insecure-no-client-auth = false
            dictionary-version = "27.0 \\"Chinese\\""
            """, ["--max-connections", "7", "--idle-timeout=12.5", "--print-config"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(result.status == 0, "\(result.stderr)")
        let values = Self.values(result.stdout)
        #expect(values["listen"] == "\"0.0.0.0:7443\"")
        #expect(values["cert"] == "\"\(dir.path)/certs/server.pem\"")
        #expect(values["key"] == "\"\(dir.path)/certs/server.key\"")
        #expect(values["client-ca"] == "\"/etc/adrnorm/ca.pem\"")
        #expect(values["allow-identity"] == "[\"spiffe://safety/a\", \"batch.b.test\"]")
        #expect(values["max-connections"] == "7", "the flag overrides the file")
        #expect(values["idle-timeout"] == "12.5")
        #expect(values["handshake-timeout"] == "5.0")
        #expect(values["review-margin"] == "0.05")
        #expect(values["precision"] == "\"int8\"")
        #expect(values["no-model"] == "true")
        #expect(values["dictionary-version"] == "\"27.0 \\\"Chinese\\\"\"")
        #expect(values["max-request-mib"] == "256", "a default")
        #expect(result.stdout.contains("# model is not set"))
    }

    @Test("a flag given on the command line replaces the file's whole list for a repeatable key")
    func repeatableOverride() throws {
        let (result, dir) = try Self.serve(config: """
            cert = "/c.pem"
            key = "/k.pem"
            client-ca = "/ca.pem"
            allow-identity = ["a", "b"]
            """, ["--allow-identity", "c", "--print-config"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.values(result.stdout)["allow-identity"] == "[\"c\"]")
    }

    @Test("--print-config's output, read back with --config, prints the same configuration")
    func roundTrip() throws {
        let (first, dir) = try Self.serve(config: """
            cert = "server.pem"
            key = "server.key"
            client-ca = "ca.pem"
            allow-identity = ["a", "tab\\there", "引号\\"x"]
            metrics-listen = "127.0.0.1:9464"
            max-queued-pairs-per-client = 500
            log-format = "json"
            write-timeout = 0.25
            """, ["--print-config"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(first.status == 0, "\(first.stderr)")
        let printed = dir.appendingPathComponent("printed.toml")
        try first.stdout.write(to: printed, atomically: true, encoding: .utf8)
        let second = try AdrnormExecutable.run(["serve", "--config", printed.path, "--print-config"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Self.values(second.stdout) == Self.values(first.stdout))
        #expect(Self.values(first.stdout).count > 30)
    }

    @Test("Deploy/adrnorm.toml, the example the systemd unit reads, is a valid config file")
    func deployExample() throws {
        let file = DemoServer.root.appendingPathComponent("Deploy/adrnorm.toml")
        let result = try AdrnormExecutable.run(["serve", "--config", file.path, "--print-config"])
        #expect(result.status == 0, "\(result.stderr)")
        let values = Self.values(result.stdout)
        #expect(values["model"] == "\"/opt/adrnorm/model\"" && values["log-format"] == "\"json\"")
        #expect(values["allow-identity-file"] == "\"/etc/adrnorm/allowed-identities.txt\"")
        let unit = try String(contentsOf: DemoServer.root.appendingPathComponent("Deploy/adrnorm.service"), encoding: .utf8)
        #expect(unit.contains("adrnorm serve --config /etc/adrnorm/adrnorm.toml"))
    }

    @Test("every flag adrnorm serve declares is a config key, and every config key is a flag")
    func everyFlagIsAKey() throws {
        let dump = try AdrnormExecutable.run(["serve", "--experimental-dump-help"])
        #expect(dump.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let command = try #require(json["command"] as? [String: Any])
        let arguments = try #require(command["arguments"] as? [[String: Any]])
        var flags: Set<String> = []
        for argument in arguments where argument["shouldDisplay"] as? Bool != false {
            for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                flags.insert(name["name"] as! String)
            }
        }
        flags.subtract(["help", "version", "config", "print-config"])
        let (result, dir) = try Self.serve(config: "cert = \"/c\"\nkey = \"/k\"\ninsecure-no-client-auth = true\n",
                                           ["--print-config"])
        defer { try? FileManager.default.removeItem(at: dir) }
        var keys: Set<String> = []
        for line in result.stdout.split(separator: "\n") {
            if line.hasPrefix("# ") && line.hasSuffix(" is not set") {
                keys.insert(String(line.dropFirst(2).dropLast(" is not set".count)))
            } else if !line.hasPrefix("#"), let key = line.split(separator: " ").first {
                keys.insert(String(key))
            }
        }
        #expect(flags.count > 40)
        #expect(flags.subtracting(keys).isEmpty, "flags without a config key: \(flags.subtracting(keys).sorted())")
        #expect(keys.subtracting(flags).isEmpty, "config keys that are no flag: \(keys.subtracting(flags).sorted())")
    }

    static let base = "cert = \"/c.pem\"\nkey = \"/k.pem\"\nclient-ca = \"/ca.pem\"\n"

    /// (file text after `base`, the line, the key, words the message must have); the line counts `base`'s 3 lines.
    static let errors: [(String, Int, String?, String)] = [
        ("max_connections = 3\n", 4, "max_connections", "did you mean max-connections"),
        ("frobnicate = 3\n", 4, "frobnicate", "unknown key"),
        ("max-connections = \"many\"\n", 4, "max-connections", "expected an integer, got the string \"many\""),
        ("\n\nmax-connections = 2.5\n", 6, "max-connections", "expected an integer, got the float 2.5"),
        ("no-model = 1\n", 4, "no-model", "expected true or false"),
        ("listen = 7443\n", 4, "listen", "expected a string in quotes"),
        ("allow-identity = [\"a\", 3]\n", 4, "allow-identity", "arrays hold strings"),
        ("handshake-timeout = 0\n", 4, "handshake-timeout", "must be 0.001 to 86400 seconds"),
        ("max-connections = 0\n", 4, "max-connections", "must be 1 to 1000000"),
        ("max-request-mib = 2\n", 4, "max-request-mib", "must be 4 to 1048576 MiB"),
        ("review-margin = 1.5\n", 4, "review-margin", "must be in [0, 1]"),
        ("max-concurrent-streams = -1\n", 4, "max-concurrent-streams", "is invalid"),
        ("precision = \"fp16\"\n", 4, "precision", "'fp32' and 'int8'"),
        ("max-length = 99999999999999999999\n", 4, "max-length", "does not fit in a 64-bit integer"),
        ("threads = 2\nthreads = 4\n", 5, "threads", "set twice (first on line 4)"),
        ("[server]\n", 4, nil, "tables ([section]) are not supported"),
        ("listen = \"127.0.0.1:7443\n", 4, "listen", "not closed with \""),
        ("allow-identity = [\"a\",\n  \"b\"\n", 4, "allow-identity", "not closed with ]"),
        ("dictionary = \"C:\\dict.csv\"\n", 4, "dictionary", "unknown escape \\d"),
        ("threads = 2 4\n", 4, "threads", "unexpected text after the value"),
        ("listen = localhost\n", 4, "listen", "strings need quotes"),
        ("listen\n", 4, nil, "expected key = value"),
        ("config = \"other.toml\"\n", 4, "config", "belongs on the command line"),
        ("cert = \"/c2.pem\"\n", 4, "cert", "set twice (first on line 1)"),
    ]

    @Test("every config error names the file, the line and the key, and exits 64 before anything starts",
          arguments: 0..<errors.count)
    func errorNamesKeyAndLine(index: Int) throws {
        let (text, line, key, words) = Self.errors[index]
        let (result, dir) = try Self.serve(config: Self.base + text, name: "bad.toml")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(result.status == 64, "\(text): \(result.stderr)")
        let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.contains("config file \(dir.path)/bad.toml line \(line)"), "\(text): \(first)")
        if let key { #expect(first.contains("key \(key):"), "\(text): \(first)") }
        #expect(first.contains(words), "\(text): \(first)")
        #expect(!result.stderr.contains("listening on"))
    }

    @Test("a missing file, a file that is not UTF-8, and --config twice are errors naming the file")
    func fileErrors() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try AdrnormExecutable.run(["serve", "--config", dir.appendingPathComponent("none.toml").path])
        #expect(missing.status == 64 && missing.stderr.contains("none.toml: file not found"), "\(missing.stderr)")
        let gbk = dir.appendingPathComponent("gbk.toml")
        try Data([0x6C, 0x69, 0x73, 0x74, 0x65, 0x6E, 0x3D, 0x22, 0xB5, 0xC4, 0x22, 0x0A]).write(to: gbk)
        let notUTF8 = try AdrnormExecutable.run(["serve", "--config", gbk.path])
        #expect(notUTF8.status == 64 && notUTF8.stderr.contains("gbk.toml: is not UTF-8 text"), "\(notUTF8.stderr)")
        let twice = try AdrnormExecutable.run(["serve", "--config", gbk.path, "--config=\(gbk.path)"])
        #expect(twice.status != 0 && twice.stderr.contains("--config may be given once"), "\(twice.stderr)")
    }

    @Test("a flag's own error still names the flag, not the file")
    func flagErrorsStayFlagErrors() throws {
        let (result, dir) = try Self.serve(config: Self.base + "max-connections = 5\n", ["--handshake-timeout", "0"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(result.status == 64)
        #expect(result.stderr.contains("--handshake-timeout must be"), "\(result.stderr)")
        #expect(!result.stderr.contains("line "), "\(result.stderr)")
    }

    @Test("""
        serve --config: SIGHUP re-reads the file: a new allowlist in it applies to new connections, a changed \
        restart-only key is reported and not applied, a broken file fails the reload and changes nothing
        """)
    func reloadRereadsTheFile() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["server.pem", "server.key", "ca.pem"] {
            try FileManager.default.copyItem(at: TestCertificates.directory.appendingPathComponent(name),
                                             to: dir.appendingPathComponent(name))
        }
        let config = dir.appendingPathComponent("serve.toml")
        func write(_ identities: String, extra: String = "") throws {
            try """
                cert = "server.pem"
                key = "server.key"
                client-ca = "ca.pem"
                no-model = true
                allow-identity = [\(identities)]
                \(extra)
                """.write(to: config, atomically: true, encoding: .utf8)
        }
        try write("\"safety-team-a\"")
        let serve = try ServeChild(["--config", config.path, "--listen", "127.0.0.1:0"], in: dir)
        let port = try await serve.port()
        let set = TestCertificates.directory
        #expect(await ReloadTests.serves(port, set, client: "client-a"), "\(serve.text)")
        #expect(!(await ReloadTests.serves(port, set, client: "client-b")))

        try write("\"safety-team-a\", \"batch.safety-team-b.test\"", extra: "max-connections = 9\n")
        serve.signal(SIGHUP)
        try await serve.wait(for: "adrnorm serve: reloaded")
        #expect(await ReloadTests.serves(port, set, client: "client-b"), "the file's new allowlist is in force:\n\(serve.text)")
        try await serve.wait(for: "only a restart applies")
        #expect(serve.text.contains("the config file changes max-connections, which only a restart applies"), "\(serve.text)")

        try write("\"safety-team-a\"", extra: "max_connections = 9\n")
        serve.signal(SIGHUP)
        try await serve.wait(for: "reload failed")
        #expect(serve.text.contains("reload failed, nothing changed: config file \(config.path) line 6, key max_connections"),
                "\(serve.text)")
        #expect(await ReloadTests.serves(port, set, client: "client-b"), "a failed reload keeps the allowlist")
        #expect(serve.process.isRunning)
    }
}
