import ArgumentParser
import Normalization

/// `--threshold-optimize exact_set_match|example_f1`, with the choices listed
/// in `--help` and in the error for any other value.
extension Evaluation.ThresholdObjective: ExpressibleByArgument {}
