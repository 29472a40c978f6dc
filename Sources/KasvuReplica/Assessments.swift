import Foundation
import GRDB
import KasvuDomain
import KasvuSync

extension Replica {
    /// Completes a multi-professional assessment: the outcome must be set; who and when are
    /// recorded with it. A completed assessment no longer changes (a new one supersedes it),
    /// and it is the latest completed one that the assessment gate and providers see.
    ///
    /// ```swift
    /// let done = try await replica.completeAssessment(id: id, completedBy: "Kaisa (TE)")
    /// ```
    public func completeAssessment(id: String, completedBy: String) async throws -> Record {
        let id = try Self.canonicalID(id)
        let now = ISO8601DateFormatter().string(from: Date())
        return try await write { db in
            let state = try Self.liveState(db, .assessment, id)
            if state.value(.state).stringValue == "completed" {
                throw KasvuError(.invalidTransition, "assessment \(id) is already completed; record a new assessment to change its conclusions")
            }
            var values = state.values
            values[EntitySchema.deletedField] = nil
            values[.state] = .string("completed")
            let errors = EntityKind.assessment.schema.recordErrors(values)
            guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }
            return try self.commit(db, .assessment, id, state: state, changes: [
                "state": .string("completed"), "completedAt": .string(now), "completedBy": .string(completedBy),
            ])
        }
    }
}
