import ArgumentParser

/// `adrnorm bench encoder`: options parsed by BenchEncoderOptions.
struct BenchEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "BERT forward pairs/s on fixed- and mixed-length batches, GFLOPS next to a cblas_sgemm figure.")
    @OptionGroup var options: BenchEncoderOptions
    func run() throws { try BenchEncoder.run(options) }
}
