import Foundation
import PackagePlugin

/// Records the git revision the `adrnorm` executable is built from
/// (`adrnorm --version`, Info's `build.git_revision`): before every build,
/// Scripts/lib/git-revision writes `GitRevision.swift` into the plugin's
/// work folder, rewriting it only when the revision changed, so an unchanged
/// checkout recompiles nothing.
@main
struct GitRevision: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let package = context.package.directoryURL
        return [.prebuildCommand(displayName: "Recording the git revision of \(package.path)",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: [package.appending(path: "Scripts/lib/git-revision").path, package.path, output.path],
                                 outputFilesDirectory: output)]
    }
}
