import Foundation
import Testing

/// Issue 15 item 7.2: a `--model` path that does not exist, or is a file,
/// says so and names the path, for every command that loads a model.
@Suite("--model: a missing folder or a file says so, naming the path")
struct MissingModelFolderTests {
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The command line for `command` with `--model model`, its other inputs
    /// valid, so that the model folder is the only thing wrong.
    static func arguments(_ command: String, model: String, in dir: URL) throws -> [String] {
        switch command {
        case "score":
            let input = dir.appendingPathComponent("pairs.jsonl").path
            try #"{"mention_id": "m1", "text_a": "头痛", "candidate_pt_name": "头痛"}"#
                .appending("\n").write(toFile: input, atomically: true, encoding: .utf8)
            return ["score", "--model", model, "--input", input]
        case "normalize":
            let input = dir.appendingPathComponent("mentions.txt").path
            try "头痛\n".write(toFile: input, atomically: true, encoding: .utf8)
            return ["normalize", "--model", model, "--input", input, "--top-k", "3"]
        case "tokenize":
            return ["tokenize", "--model", model, "--text-a", "头痛"]
        default:
            return ["serve", "--model", model, "--listen", "127.0.0.1:0",
                    "--cert", DemoServer.certificate("server.pem"), "--key", DemoServer.certificate("server.key"),
                    "--client-ca", DemoServer.certificate("ca.pem")]
        }
    }

    @Test("a --model folder that does not exist: \"model folder not found\" and the path",
          arguments: ["score", "normalize", "serve", "tokenize"])
    func missing(command: String) throws {
        let dir = try Self.scratch()
        let model = dir.appendingPathComponent("no-such-model").path
        let r = try AdrnormExecutable.run(try Self.arguments(command, model: model, in: dir))
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(model): model folder not found"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("a --model path that is a file: \"is a file, not a model folder\" and the path",
          arguments: ["score", "normalize", "serve", "tokenize"])
    func file(command: String) throws {
        let dir = try Self.scratch()
        let model = dir.appendingPathComponent("model.safetensors").path
        try Data([0]).write(to: URL(fileURLWithPath: model))
        let r = try AdrnormExecutable.run(try Self.arguments(command, model: model, in: dir))
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(model): is a file, not a model folder"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}
