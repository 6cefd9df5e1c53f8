import ArgumentParser
import CrossEncoder
import Digest
import Foundation
import Normalization
import RPCServer
import ServiceAdapter
import Transport
import Wire
import Terminology

/// Options shared by the commands that run the whole pipeline (`normalize`,
/// `serve`): where the model and dictionary come from and how scoring runs.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Hugging Face BertForSequenceClassification folder (default: the SYNTHETIC demo model in Demo/model).")
    var model: String?
    @Flag(name: .customLong("no-model"), help: "Load no model: only --scorer lexical is available.")
    var noModel = false
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the SYNTHETIC demo dictionary in Demo/dictionary).")
    var dictionary: String?
    @Option(help: "Encoding of a MedDRA ASCII folder: utf-8 or gb18030.")
    var encoding: String = "utf-8"
    @Option(name: .customLong("max-length"), help: "Pair encoding length in tokens, special tokens included.")
    var maxLength: Int = 64
    @Option(name: .customLong("max-batch-tokens"),
            help: "Most tokens in one scoring batch; pairs of concurrent requests share batches up to this.")
    var maxBatchTokens: Int = NormalizationDefaults.maxBatchTokens
    @Option(name: .customLong("max-queued-pairs"), help: "Most pairs waiting for scoring; past it requests are refused as overloaded.")
    var maxQueuedPairs: Int = 100_000
    @Option(help: "Threads per forward pass of the cross-encoder (a batch is split across them by pairs).")
    var threads: Int = EncoderOptions.defaultThreads
    @Option(help: "Cross-encoder arithmetic: fp32 (faithful to the published model) or int8 (opt-in, faster, approximate; see docs/encoder.md).")
    var precision: Precision = .fp32
    @Option(name: .customLong("cache-size"), help: "Mention-level results kept in the LRU cache (0 disables it).")
    var cacheSize: Int = 10_000
    @Option(name: .customLong("dictionary-version"),
            help: "MedDRA version of a dictionary without a release file (a CSV), reported in Info and every result's provenance; must equal meddra_release.asc's when the folder has one.")
    var dictionaryVersion: String?
    @Option(help: "Company synonym list: CSV with columns verbatim,llt_code; a mention equal to a verbatim is coded to that LLT and its PT without scoring.")
    var synonyms: String?
    @Option(name: .customLong("synonyms-encoding"), help: "Encoding of --synonyms: utf-8 (a BOM is dropped) or gb18030.")
    var synonymsEncoding: String = SourceEncoding.utf8.rawValue
    @Option(name: .customLong("synonym-folding"),
            help: "How --synonyms verbatims and mentions are compared after trimming: none (code points exactly) or width-case (full-width ASCII as ASCII, then lowercase).")
    var synonymFolding: SynonymList.Folding = .none
    @Option(name: .customLong("review-margin"),
            help: "Flag a result needs_review when a candidate's probability lies within this of the threshold (or when nothing matches), in [0, 1].")
    var reviewMargin: Double = NormalizationDefaults.reviewMargin
    @Flag(name: .customLong("allow-vocab-mismatch"),
          help: "Accept a vocab.txt with fewer tokens than config.json's vocab_size (refused by default: it is usually another model's vocabulary).")
    var allowVocabMismatch = false

    func validate() throws {
        guard maxLength >= 3 && maxLength <= 512 else { throw ValidationError("--max-length must be in 3…512 (got \(maxLength))") }
        guard maxBatchTokens >= 1 else { throw ValidationError("--max-batch-tokens must be at least 1") }
        guard maxQueuedPairs >= 1 else { throw ValidationError("--max-queued-pairs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard cacheSize >= 0 else { throw ValidationError("--cache-size must not be negative") }
        guard (try? SourceEncoding(name: encoding)) != nil else {
            throw ValidationError("--encoding must be utf-8 or gb18030 (got \(encoding))")
        }
        if noModel && model != nil { throw ValidationError("--no-model and --model exclude each other") }
        guard (try? SourceEncoding(name: synonymsEncoding)) != nil else {
            throw ValidationError("--synonyms-encoding must be utf-8 or gb18030 (got \(synonymsEncoding))")
        }
        guard reviewMargin >= 0 && reviewMargin <= 1 else { throw ValidationError("--review-margin must be in [0, 1] (got \(reviewMargin))") }
        if let v = dictionaryVersion, v.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--dictionary-version must not be empty")
        }
    }

    /// The dictionary (`--dictionary`, or the demo's) and the synonym list
    /// (`--synonyms`) loaded against it, checked, with what was loaded
    /// reported. `serve` calls it again on SIGHUP.
    func loadDictionary(command: String, report: (String) -> Void) throws -> (CandidateDictionary, SynonymList?) {
        let dictionaryPath = try dictionary ?? DemoAssets.dictionary()
        var loaded = try CandidateDictionary.load(path: dictionaryPath, encoding: try SourceEncoding(name: encoding))
        if let dictionaryVersion {
            if let release = loaded.medDRAVersion, release != dictionaryVersion {
                throw CommandFailure("\(command): --dictionary-version \(dictionaryVersion) differs from the version \(release) "
                                     + "in \(loaded.source)'s meddra_release.asc; drop the flag or fix it")
            }
            loaded = loaded.withMedDRAVersion(dictionaryVersion)
        }
        report("\(command): dictionary \(loaded.source): \(loaded.counts.pts) PTs, \(loaded.counts.llts) LLT aliases, "
               + "\(loaded.counts.socs) SOCs\(loaded.medDRAVersion.map { ", MedDRA \($0)" } ?? "")")
        for w in loaded.report.warnings { report("warning: \(w)") }
        if !loaded.hasLLTCodes {
            report("\(command): the dictionary has no LLT codes (no llt_code column): LLT aliases are coded with an empty "
                   + "llt_code; only each PT's own LLT has a code")
        }
        var synonymList: SynonymList? = nil
        if let synonyms {
            let list = try SynonymList.load(path: synonyms, encoding: try SourceEncoding(name: synonymsEncoding),
                                            folding: synonymFolding, dictionary: loaded)
            report("\(command): synonym list \(synonyms): \(list.count) verbatim(s), folding \(synonymFolding.rawValue)"
                   + (list.duplicateRows > 0 ? ", \(list.duplicateRows) repeated row(s) ignored" : ""))
            synonymList = list
        }
        return (loaded, synonymList)
    }

    /// Loads the dictionary and the model and builds the pipeline, telling
    /// on stderr what was loaded (and loudly when it is the synthetic demo);
    /// `warn` gets what the model folder gets wrong but is let through (the
    /// match label taken by convention, a vocabulary mismatch allowed).
    func makePipeline(command: String, report: (String) -> Void = { Stderr.write($0 + "\n") },
                      warn: (String) -> Void = { Stderr.write("warning: " + $0 + "\n") },
                      configure: (inout PipelineConfiguration) -> Void = { _ in })
        throws -> (pipeline: NormalizationPipeline, modelDirectory: String?)
    {
        var notes: [String] = []
        if dictionary == nil { notes.append("the SYNTHETIC demo dictionary (not MedDRA)") }
        if model == nil && !noModel { notes.append("the SYNTHETIC demo model") }
        if !notes.isEmpty {
            report("\(command): using \(notes.joined(separator: " and ")) from Demo/: not for clinical use")
        }
        let (loaded, synonymList) = try loadDictionary(command: command, report: report)

        var scorer: PairScorer? = nil
        var digest: String? = nil
        var modelDirectory: String? = nil
        if !noModel {
            let directory = try model ?? DemoAssets.model()
            scorer = try PairScorer(modelDirectory: directory, maxLength: maxLength,
                                    options: EncoderOptions(precision: precision, threads: threads),
                                    allowVocabularyMismatch: allowVocabMismatch)
            digest = try FileDigest.sha256(ofFile: URL(fileURLWithPath: directory).appendingPathComponent("model.safetensors").path)
            modelDirectory = directory
            let c = scorer!.model.config
            report("\(command): model \(directory): \(c.numHiddenLayers) layers, hidden \(c.hiddenSize), "
                   + "max_length \(maxLength), \(precision), \(threads) threads, weights sha256 \(digest!.prefix(16))…")
            for w in scorer!.warnings { warn("\(command): \(w)") }
        }
        var configuration = PipelineConfiguration()
        configuration.maxLength = maxLength
        configuration.scheduling = ScoringSchedulerConfiguration(maxBatchTokens: maxBatchTokens, maxQueuedPairs: maxQueuedPairs)
        configuration.cacheCapacity = cacheSize
        configuration.reviewMargin = reviewMargin
        configuration.synonyms = synonymList
        configure(&configuration)
        let pipeline = try NormalizationPipeline(dictionary: loaded, model: scorer, modelDigest: digest,
                                                 configuration: configuration)
        return (pipeline, modelDirectory)
    }
}

extension SynonymList.Folding: ExpressibleByArgument {}
