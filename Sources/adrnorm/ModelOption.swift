/// The `--model` option shared by `tokenize` and `score`.
enum ModelOption {
    /// The model folder: `--model`, or the synthetic demo model (said on stderr).
    static func resolve(_ option: String?, command: String) throws -> String {
        if let option, !option.isEmpty { return option }
        let directory = try DemoAssets.model()
        Stderr.write("\(command): using the SYNTHETIC demo model \(directory): not for clinical use\n")
        return directory
    }
}
