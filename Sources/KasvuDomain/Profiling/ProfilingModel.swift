import Foundation

/// A transparent, versioned scoring model that *proposes* a risk group (1 easily employed,
/// 2 average, 3 hard to employ) with an explanation. Coefficients and thresholds are data
/// (`Resources/profiling-model.json`), not code; a person confirms or overrides the proposal.
///
/// ```swift
/// let proposal = try ProfilingModel.current.propose([
///     "monthsUnemployed": .int(14), "age": .int(57), "educationLevel": .string("basic"),
///     "monthsEmployedLast24": .int(3), "languageSkills": .string("good"),
/// ])
/// proposal.group        // 3
/// proposal.explanation  // one contribution per factor
/// ```
public struct ProfilingModel: Sendable, Codable, Hashable {
    public struct Factor: Sendable, Codable, Hashable {
        public enum Kind: String, Sendable, Codable { case linear, categorical }
        public let name: String
        public let description: String
        public let kind: Kind
        public let coefficient: String?
        public let offset: Int?
        public let cap: Int?
        public let levels: [String: String]?
    }

    public struct Threshold: Sendable, Codable, Hashable {
        public let group: Int
        /// Scores below this (exclusive) get `group`; the last threshold has none.
        public let below: String?
    }

    public let version: String
    public let description: String
    public let intercept: String
    public let factors: [Factor]
    public let thresholds: [Threshold]

    /// The model shipped with the product.
    public static let current: ProfilingModel = {
        guard let url = Bundle.module.url(forResource: "profiling-model", withExtension: "json"),
              let data = try? Data(contentsOf: url), let model = try? JSONDecoder().decode(ProfilingModel.self, from: data)
        else { fatalError("KasvuDomain resource profiling-model.json is missing or invalid") }
        return model
    }()

    /// One factor's part of a score.
    public struct Contribution: Sendable, Hashable {
        public let factor: String
        public let value: FieldValue
        public let contribution: Decimal
    }

    public struct Proposal: Sendable, Hashable {
        public let group: Int
        public let score: Decimal
        public let explanation: [Contribution]
        public let modelVersion: String
    }

    /// Scores the inputs. Every factor must be present with the right type and a known level.
    public func propose(_ inputs: [String: FieldValue]) throws(KasvuError) -> Proposal {
        var errors: [FieldError] = []
        var explanation: [Contribution] = []
        var score = Self.decimal(intercept)
        for factor in factors {
            let value = inputs[factor.name] ?? .null
            switch (factor.kind, value) {
            case (.linear, .int(let number)):
                let clamped = min(max(Int(number) - (factor.offset ?? 0), 0), factor.cap ?? Int.max)
                let part = Self.decimal(factor.coefficient ?? "0") * Decimal(clamped)
                explanation.append(Contribution(factor: factor.name, value: value, contribution: part))
                score += part
            case (.categorical, .string(let level)) where factor.levels?[level] != nil:
                let part = Self.decimal(factor.levels![level]!)
                explanation.append(Contribution(factor: factor.name, value: value, contribution: part))
                score += part
            case (.linear, _):
                errors.append(FieldError(field: factor.name, message: value.isNull ? "is needed for profiling" : "must be an integer"))
            case (.categorical, _):
                let levels = (factor.levels ?? [:]).keys.sorted().joined(separator: ", ")
                errors.append(FieldError(field: factor.name, message: value.isNull ? "is needed for profiling (\(levels))" : "must be one of \(levels)"))
            }
        }
        guard errors.isEmpty else { throw .validationFailed(errors) }
        let group = thresholds.first { threshold in threshold.below.map { score < Self.decimal($0) } ?? true }?.group ?? 3
        return Proposal(group: group, score: score, explanation: explanation, modelVersion: version)
    }

    /// Decimal from the model's plain decimal text; locale-independent.
    static func decimal(_ text: String) -> Decimal {
        Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? 0
    }
}
