import Foundation
import Testing

/// Issue 15 item 7.4: Scripts/test-java-client --build-only builds the
/// library alone: no JUnit, no test compiled or run.
@Suite("Scripts/test-java-client --build-only")
struct JavaClientBuildOnlyTests {
    static let toolsPresent = FileManager.default.isExecutableFile(atPath: "/usr/bin/javac")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc")
        && FileManager.default.fileExists(atPath: "/usr/share/java/protobuf.jar")

    @Test("compiles src/main/java into the output folder's classes, and no test classes",
          .enabled(if: toolsPresent, "javac, protoc or /usr/share/java/protobuf.jar is missing (Scripts/test-java-client installs them)"))
    func buildOnly() throws {
        let out = try RepositoryScript.scratch()
        let r = try RepositoryScript.run("Scripts/test-java-client", ["--build-only"],
                                         environment: ["ADRNORM_JAVA_CLIENT_OUT": out.path], timeout: 600)
        #expect(r.status == 0, "\(r.stderr)")
        let classes = out.appendingPathComponent("classes/dev/adrnorm/client/AdrnormClient.class")
        #expect(FileManager.default.fileExists(atPath: classes.path), "\(r.stderr)")
        // The protobuf classes are not committed: protoc generates them into the output folder.
        let generated = out.appendingPathComponent("generated-sources/dev/adrnorm/v1/NormalizeRequest.java")
        #expect(FileManager.default.fileExists(atPath: generated.path), "\(r.stderr)")
        let message = out.appendingPathComponent("classes/dev/adrnorm/v1/NormalizeRequest.class")
        #expect(FileManager.default.fileExists(atPath: message.path), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("test-classes").path))
        #expect(!r.stderr.lowercased().contains("junit") && !r.stdout.lowercased().contains("junit"),
                "\(r.stdout)\(r.stderr)")
    }
}
