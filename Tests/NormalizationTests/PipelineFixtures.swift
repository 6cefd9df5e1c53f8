import CrossEncoder
import Foundation
import Normalization
import Terminology

/// The demo assets of the repository, loaded once per test process.
enum DemoPipeline {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let dictionaryPath = root.appendingPathComponent("Demo/dictionary/demo_dictionary.csv").path
    static let modelPath = root.appendingPathComponent("Demo/model").path

    static let dictionary: CandidateDictionary = {
        do { return try CandidateDictionary.load(path: dictionaryPath) } catch {
            preconditionFailure("cannot load the demo dictionary: \(error)")
        }
    }()

    static let model: PairScorer = {
        do { return try PairScorer(modelDirectory: modelPath) } catch {
            preconditionFailure("cannot load the demo model: \(error)")
        }
    }()

    static func lexical(cache: Int = 100) throws -> NormalizationPipeline {
        var c = PipelineConfiguration()
        c.cacheCapacity = cache
        return try NormalizationPipeline(dictionary: dictionary, model: nil, configuration: c)
    }

    static func withModel(cache: Int = 100, scheduling: ScoringSchedulerConfiguration = .init()) throws -> NormalizationPipeline {
        var c = PipelineConfiguration()
        c.cacheCapacity = cache
        c.scheduling = scheduling
        return try NormalizationPipeline(dictionary: dictionary, model: model, modelDigest: "demo", configuration: c)
    }

    /// Mentions as reporters write them, several symptoms in some.
    static let mentions = [
        "吃完药后一直犯困头晕", "用药后出现皮疹伴瘙痒", "恶心想吐", "胸闷心慌", "肝功能异常，转氨酶升高",
        "头痛", "腹泻 3次/日", "注射部位红肿", "失眠多梦", "过敏性休克", "咳嗽，咽痛", "视物模糊",
        "血压升高", "乏力，食欲不振", "口干", "心率加快",
    ]
}
