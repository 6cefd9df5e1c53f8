import Foundation

/// What the CPU offers, from /proc/cpuinfo (this file is compiled for plain
/// x86-64, so the check itself runs anywhere).
enum CPUFeatures {
    /// The flags the CrossEncoder module needs that this CPU lacks; nil when
    /// it has them all or /proc/cpuinfo cannot be read (then we go on).
    static func missingForEncoder() -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        let missing = ["avx2", "fma"].filter { !flags.contains($0) }
        return missing.isEmpty ? nil : missing
    }
}
