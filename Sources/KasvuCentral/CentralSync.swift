import Foundation
import KasvuSQL
import KasvuDomain
import KasvuStorage
import KasvuSync

/// One `POST /v1/sync`, read top to bottom: check the header → check each pushed record on
/// its own → in one write transaction, check the actor, then per record ownership, rules and
/// scope before its merge, then the referral decisions → in a read transaction (a WAL
/// snapshot, so a long pull never holds the write lock), the pull batch → record what the
/// replica now holds.
extension SQLCentralStore {
    public func sync(_ request: CentralSyncRequest, from replica: RegisteredReplica) async throws -> SyncResponse {
        let header = request.header
        let now = nowMillis()
        try checkHeader(header, push: request.push, replica: replica, now: now)
        var rejections: [SyncRejection] = []
        var valid: [RecordEnvelope] = []
        for record in request.push {
            switch record.result.flatMap(Self.wellFormed) {
            case .success(let envelope): valid.append(envelope)
            case .failure(let error): rejections.append(SyncRejection(entity: record.entity, id: record.id, error: error))
            }
        }
        let merging = valid, rejectedEarly = rejections
        let merge: MergeResult
        do {
            merge = try await write { db in try self.merge(db, merging, header: header, replica: replica, rejections: rejectedEarly) }
        } catch let restored as IncarnationChanged {
            // Restored since this replica last synced: its push rests on what the store lost.
            // Nothing merges; the answer names the incarnation and the replica re-syncs first.
            return SyncResponse(schemaVersion: SyncSchema.version, accepted: 0, rejections: [], pull: [], cursor: header.cursor,
                                more: false, clock: HLC(millis: now), incarnation: restored.current, horizon: restored.horizon)
        }
        let pullLimit = min(max(header.pullLimit, 1), SyncBatch.maxRecords)
        let whilePulling = self.whilePulling
        var pull = try await read { db in
            whilePulling?()
            // The scope as of this snapshot, the same one the rescan generation is read from.
            let replica = try Self.registered(db, id: replica.id) ?? replica
            var resolver = ScopeResolver(reads: SQLCentralReads(db: db), scope: replica.scope, today: self.today)
            var batch = try Self.pull(db, replica: replica, cursor: header.cursor, limit: pullLimit, resolver: &resolver, skipping: merge.sentText)
            batch.evict += try Self.collected(db, among: request.waiting)
            return batch
        }
        if replica.scope != .all && (!pull.delivered.isEmpty || pull.rescan > 0) {
            let delivered = pull.delivered, rescan = pull.rescan, scanAllThrough = pull.scanAllThrough
            try await write { db in
                let insert = db.statement("INSERT INTO delivered (replica_id, entity, id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                for key in delivered { try insert.execute([replica.id, key.entity.rawValue, key.id]) }
                // Only the rescan this pull did: a scope changed since then rescans again. The
                // pulls that follow read every record up to where this one's snapshot ended.
                if rescan > 0 {
                    try db.execute("UPDATE replica SET rescan = 0, scan_all_through = ? WHERE id = ? AND rescan = ?", [scanAllThrough, replica.id, rescan])
                }
            }
        }
        // The replica just sent exactly these states: do not send them back.
        pull.records.removeAll { merge.echoed["\($0.entity.rawValue)/\($0.id)"] == $0.state }
        // Erased values live on in moved cells' old copies and the write-ahead log until the
        // file is scrubbed: right after this answer, which does not wait for a rewrite of the
        // whole file (the obligation committed with the merge).
        if merge.erased { await backgroundScrub?.request() }
        return SyncResponse(schemaVersion: SyncSchema.version, accepted: request.push.count - merge.rejections.count,
                            rejections: merge.rejections, pull: pull.records, cursor: pull.cursor, more: pull.more,
                            clock: HLC(millis: now), evict: merge.evict + pull.evict, incarnation: pull.incarnation, horizon: pull.horizon,
                            leases: merge.leases, reservedPlaces: merge.reservedPlaces)
    }

    /// The request as a whole: schema version, identity, numbers within range, clock.
    func checkHeader(_ header: SyncHeader, push: [PushedRecord], replica: RegisteredReplica, now: UInt64) throws {
        guard header.schemaVersion == SyncSchema.version else {
            throw KasvuError(.schemaMismatch, "replica speaks schema version \(header.schemaVersion), the central store \(SyncSchema.version); upgrade kasvu on the older side")
        }
        guard header.replicaID == replica.id else {
            throw KasvuError(.permissionDenied, "the token belongs to replica \(replica.id), not \(header.replicaID)")
        }
        var errors: [FieldError] = []
        if !header.actor.isWellFormed { errors.append(FieldError(field: "header.actor", message: "must be 16 lowercase hexadecimal digits")) }
        if header.actorCounter > UInt64(Int64.max) { errors.append(FieldError(field: "header.actorCounter", message: "must be at most \(Int64.max)")) }
        if header.cursor < 0 { errors.append(FieldError(field: "header.cursor", message: "must not be negative")) }
        if let unpushed = header.unpushed, unpushed < 0 || unpushed > SyncLimits.maxUnpushed {
            errors.append(FieldError(field: "header.unpushed", message: "must be between 0 and \(SyncLimits.maxUnpushed)"))
        }
        if let incarnation = header.incarnation, incarnation.utf8.count > 64 {
            errors.append(FieldError(field: "header.incarnation", message: "at most 64 characters"))
        }
        if let version = header.appVersion, !SyncLimits.isAcceptableAppVersion(version) {
            errors.append(FieldError(field: "header.appVersion", message: "at most \(SyncLimits.maxAppVersionLength) printable ASCII characters"))
        }
        if header.leasesReturned.count > SyncLimits.maxLeasesReturned || header.leasesReturned.contains(where: { $0.utf8.count > 64 }) {
            errors.append(FieldError(field: "header.leasesReturned", message: "at most \(SyncLimits.maxLeasesReturned) lease ids of at most 64 characters"))
        }
        if let name = header.userName, !SyncLimits.isAcceptableUserName(name) {
            errors.append(FieldError(field: "header.userName", message: "at most \(SyncLimits.maxUserNameLength) characters, no control characters"))
        }
        let notes = push.reduce(0) { $0 + ((try? $1.result.get().writes.count) ?? 0) }
        if notes > SyncLimits.maxWriteNotesPerPush {
            errors.append(FieldError(field: "push", message: "at most \(SyncLimits.maxWriteNotesPerPush) write notes per push"))
        }
        guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }
        var newest = header.clock
        for record in push {
            if case .success(let envelope) = record.result {
                for entry in envelope.state.fields.values.joined() where entry.hlc > newest { newest = entry.hlc }
            }
        }
        if newest.millis > now + maxClockSkewMillis {
            let seconds = (newest.millis - now) / 1000
            throw KasvuError(.clockSkew, "the replica's clock is \(seconds) s ahead of the central clock (at most \(maxClockSkewMillis / 1000) s allowed); correct the laptop's date and time, then sync again")
        }
    }

    /// Today in Finland as the furthest-ahead clock the central store accepts sees it: a
    /// laptop up to the allowed skew ahead may already be in the next month (or day).
    static func latestToday(nowMillis: UInt64, skew: UInt64) -> CalendarDate {
        CalendarDate(millis: nowMillis + skew)
    }

    /// The store was restored since the replica last synced (``SyncHeader/incarnation``).
    struct IncarnationChanged: Error {
        let current: String
        let horizon: Int64
    }

    /// What the merge transaction hands to the pull.
    struct MergeResult: Sendable {
        var rejections: [SyncRejection]
        /// Records refused as outside the replica's scope that it may hold only because it
        /// wrote them: the laptop purges them (a lost laptop exposes only its current scope).
        var evict: [RecordKey]
        /// Stored texts saved exactly as the replica sent them (by `entity/id`): the pull
        /// skips those rows without decoding them.
        var sentText: [String: String]
        /// States equal to what the replica sent: not sent back.
        var echoed: [String: RecordState]
        /// A merged write deleted (and so erased) a record: the write-ahead log is emptied after.
        var erased = false
        /// The capacity leases the replica holds after this request, when it asked.
        var leases: [CapacityLease]?
        /// What live leases reserve, by provider, for the central office's replica.
        var reservedPlaces: [String: Int]?
    }

    /// The write transaction: the actor check, every pushed record checked and merged, the
    /// referral decisions, renumbering of records whose visibility moved, the actor's counter.
    func merge(_ db: any SQLConnection, _ pushed: [RecordEnvelope], header: SyncHeader, replica authenticated: RegisteredReplica,
               rejections: [SyncRejection]) throws -> MergeResult {
        // Read again inside the write transaction: another server (or an administration
        // command) may have restored the store, revoked this replica or changed its scope since
        // the request was authenticated.
        if let known = header.incarnation, let current = try db.value(String.self, "SELECT value FROM central_state WHERE name = 'incarnation'"),
           known != current {
            throw IncarnationChanged(current: current, horizon: try Self.horizon(db))
        }
        guard let replica = try Self.registered(db, id: authenticated.id), !replica.revoked else {
            throw KasvuError(.syncUnauthorized, "replica \(authenticated.id) was revoked; ask the central office for a new token")
        }
        try Self.checkActor(db, header, replica: replica)
        var result = MergeResult(rejections: rejections, evict: [], sentText: [:], echoed: [:])
        let at = UTCTimestamp.string()
        let reads = SQLCentralReads(db: db)
        var resolver = ScopeResolver(reads: reads, scope: replica.scope, today: today)
        // The replica's other actors, each bounded by the writes the central store holds from it.
        let formerActors = try db.all("""
            SELECT actor, (SELECT max(counter) FROM dot WHERE dot.actor = actor.actor) AS held FROM actor
            WHERE replica_id = ? AND actor <> ?
            """, [replica.id, header.actor.rawValue])
            .reduce(into: [ActorID: UInt64]()) { try $0[ActorID(rawValue: $1["actor"])] = UInt64(($1["held"] as Int64?) ?? 0) }
        let ownership = PushCheck(actor: header.actor, counter: header.actorCounter, formerActors: formerActors)
        let ownActors = Set(formerActors.keys).union([header.actor])
        let rules = PushRules(ownership: ownership, role: replica.role, replicaID: replica.id,
                              today: Self.latestToday(nowMillis: nowMillis(), skew: maxClockSkewMillis), reads: reads)
        var dots = try DotRegistry(db, actor: header.actor, replicaID: replica.id, formerActors: Set(formerActors.keys))
        let startSequence = try db.value(Int64.self, "SELECT value FROM sequence") ?? 0
        var sequence = startSequence
        var merged: [RecordEnvelope] = []
        var savedClients: [String: RecordState] = [:]
        // Clients whose visibility may have changed: their records get new sequence numbers,
        // so that they reach replicas they entered and leave replicas they left.
        var moved: Set<String> = []
        // Leased activations that found no reserved place (after a restore, LeaseLedger.Restore).
        var unreserved: [String] = []
        for var envelope in pushed {
            let key = "\(envelope.entity.rawValue)/\(envelope.id)"
            let current = try Self.load(db, envelope.entity, envelope.id)
            // A creation the store lost, sent by a creator that never learned of the restore,
            // onto the tombstone of a replica that had held it: its erased values stay erased.
            if let current {
                envelope = RecordEnvelope(entity: envelope.entity, id: envelope.id,
                                          state: envelope.state.withoutCreation(envelope.entity, under: current, own: header.actor), writes: envelope.writes)
            }
            if let current { try Self.checkDotsNotReused(envelope, current: current, header: header) }
            if current == nil, let refusal = try Self.collectedRefusal(db, envelope.entity, envelope.id, envelope.state) {
                // The laptop holds what the store will never take again: it lets go of it.
                result.rejections.append(SyncRejection(entity: envelope.entity.rawValue, id: envelope.id, error: refusal))
                result.evict.append(RecordKey(entity: envelope.entity, id: envelope.id))
                continue
            }
            try dots.check(envelope.state, entity: envelope.entity, id: envelope.id)
            if let current { try dots.checkNotHidden(envelope.state, stored: current, entity: envelope.entity, id: envelope.id) }
            // A write two copies of one database both held unpushed lands once, whichever way
            // each copy's recovery (`kasvu recover`) sent it.
            let merging = (current ?? RecordState()).merged(with: envelope.state)
            let state = try current.map { try dots.withoutWritesSeen(merging, pushed: envelope.state, stored: $0) } ?? merging
            if let current, state == current, Self.repeatsOwnWrites(envelope.state, of: ownActors, stored: current) {
                // A retry of writes already merged (their answer was lost, or a recovered laptop
                // pushes again what its former actor wrote): nothing changes, and the record
                // may have left the pusher's scope since; eviction follows on pull.
                if state == envelope.state { result.echoed[key] = state }
                continue
            }
            // Scope first, on the stored state, so that no later check becomes an oracle on a
            // record the pusher may not see; then ownership and rules; then scope on the result.
            let scopeOfStored = try current.flatMap { try resolver.writeRefusal(envelope.entity, envelope.id, $0) }
            let scopeOfMerged = { try resolver.writeRefusal(envelope.entity, envelope.id, state) }
            if let refusal = try scopeOfStored.map({ KasvuError(.permissionDenied, $0) })
                ?? rules.refusal(envelope.entity, envelope.id, pushed: envelope.state, stored: current, merged: state)
                ?? Self.noteRefusal(envelope, header: header, latest: HLC(millis: nowMillis() + maxClockSkewMillis)).map({ KasvuError.validationFailed(field: "writes", $0) })
                ?? scopeOfMerged().map({ KasvuError(.permissionDenied, $0) }) {
                result.rejections.append(SyncRejection(entity: envelope.entity.rawValue, id: envelope.id, error: refusal))
                // A refused record the pusher may not see (new, or stored outside its scope) is
                // on its laptop only because it wrote it there: the laptop purges it.
                if replica.scope != .all, refusal.kind == .permissionDenied, try current.map({ try !resolver.isVisible(envelope.entity, envelope.id, $0) }) ?? true {
                    result.evict.append(RecordKey(entity: envelope.entity, id: envelope.id))
                }
                continue
            }
            let text = state != current ? Self.encode(state) : nil
            let limit = SyncLimits.maxRecordStateBytes(envelope.entity)
            if let text, text.utf8.count > limit {
                result.rejections.append(SyncRejection(entity: envelope.entity.rawValue, id: envelope.id,
                                                       error: .validationFailed(field: "state", "the record would grow past \(limit) bytes")))
                continue
            }
            if replica.scope != .all {
                // The replica holds what it pushed, whether or not a pull ever delivers it
                // (a sync cut short may never reach it): remember it, so that it is
                // evicted when it leaves the replica's scope.
                try db.statement("INSERT INTO delivered (replica_id, entity, id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                    .execute([replica.id, envelope.entity.rawValue, envelope.id])
            }
            if let text {
                try dots.register(envelope.state)
                sequence += 1
                try Self.save(db, envelope.entity, envelope.id, state, text: text, sequence: sequence, new: current == nil)
                if state == envelope.state { result.sentText[key] = text }
                if envelope.writes.isEmpty {
                    try Self.audit(db, envelope.entity, envelope.id, before: current, after: state, at: at,
                                   replica: replica.id, actor: header.actor.rawValue, user: header.userName)
                } else {
                    try Self.audit(db, envelope.entity, envelope.id, notes: envelope.writes, at: at, replica: replica.id, actor: header.actor.rawValue)
                }
                merged.append(envelope)
                if envelope.entity == .client { savedClients[envelope.id] = state }
                if envelope.entity == .referral, current == nil, replica.role == .office, let provider = state.value(.providerId).stringValue {
                    try LeaseLedger.countReferral(db, replica: replica.id, provider: provider, day: today)
                    // PushRules checked the lease: its place is spent now (after a restore, an
                    // activation under a lost lease may find none reserved: it needs a free one).
                    if WriteRules.isLeasedCreation(state.values, role: replica.role), let lease = state.value(.leaseId).stringValue,
                       try !LeaseLedger.spend(db, lease: lease, replica: replica.id, provider: provider, restore: reads.restore()) {
                        unreserved.append(envelope.id)
                    }
                }
                if let current, current.erasesPersonalValues(envelope.entity, merged: state) {
                    result.erased = true
                    try Scrub.markPending(db)
                }
                if Self.movesScope(envelope.entity, current: current, merged: state) {
                    moved.insert(envelope.entity == .client ? envelope.id : state.value(.clientId).stringValue ?? "")
                }
            }
            if state == envelope.state { result.echoed[key] = state }
        }
        // Returned leases first, so that the scheduler gives their places to the referrals
        // waiting for them before any lease is granted again.
        let released = replica.role == .office ? try LeaseLedger.giveBack(db, replica: replica.id, ids: header.leasesReturned) : []
        try scheduleReferrals(db, touchedBy: merged, providers: released, unreserved: unreserved, sequence: &sequence, moved: &moved, at: at)
        if replica.role == .office && header.leasesWanted {
            let restore = try LeaseLedger.restore(db)
            result.leases = try LeaseLedger.grant(db, replica: replica.id, scope: replica.scope, nowMillis: nowMillis()).map { $0.held(after: restore) }
        }
        if replica.role == .admin { result.reservedPlaces = try LeaseLedger.reservedByProvider(db) }
        try Self.flagDuplicates(db, clients: Set(savedClients.keys), stored: savedClients, sequence: &sequence, at: at, nowMillis: nowMillis)
        try Self.renumber(db, clients: moved, numberedBefore: startSequence, sequence: &sequence)
        try db.execute("UPDATE sequence SET value = ?", [sequence])
        try db.execute("""
            INSERT INTO actor (actor, replica_id, max_counter) VALUES (?, ?, ?)
            ON CONFLICT (actor) DO UPDATE SET max_counter = CASE WHEN excluded.max_counter > actor.max_counter THEN excluded.max_counter ELSE actor.max_counter END
            """, [header.actor.rawValue, replica.id, Int64(header.actorCounter)])
        // Everything this replica wrote before pulling up to its cursor is merged now only if
        // it pushed all it had; otherwise its settled cursor may only go down (a replica that
        // went back), never up, and it is not settled again now.
        if header.unpushed == 0 {
            try db.statement("UPDATE replica SET settled_cursor = ?, settled_ms = ? WHERE id = ?")
                .execute([header.cursor, Int64(nowMillis()), replica.id])
        } else {
            try db.statement("UPDATE replica SET settled_cursor = CASE WHEN ?1 < settled_cursor THEN ?1 ELSE settled_cursor END WHERE id = ?2").execute([header.cursor, replica.id])
        }
        // Its health, for `kasvu central replicas`: as the replica says, within the header's bounds.
        try db.statement("UPDATE replica SET last_sync_at = ?, app_version = ?, schema_version = ?, pending_changes = ? WHERE id = ?")
            .execute([at, header.appVersion, header.schemaVersion, header.unpushed, replica.id])
        return result
    }

    /// Gives the records of clients whose visibility may have changed new sequence numbers, so
    /// that they reach the replicas they entered and leave the ones they left, and moves the
    /// client's other records to its home (``RecordHome``). Records already numbered in this
    /// transaction (above `numberedBefore`) are past every cursor already.
    static func renumber(_ db: any SQLConnection, clients: Set<String>, numberedBefore: Int64, sequence: inout Int64) throws {
        let related = db.statement("SELECT entity, id, seq, home FROM record WHERE client_ref = ? ORDER BY entity, id")
        let clientHome = db.statement("SELECT home FROM record WHERE entity = 'client' AND id = ?")
        let update = db.statement("UPDATE record SET seq = ?, home = ? WHERE entity = ? AND id = ?")
        for client in clients.sorted() where !client.isEmpty {
            let home = try clientHome.value(String.self, [client])
            for row in try related.all([client]) {
                let entity: String = try row["entity"], id: String = try row["id"], before: String? = try row["home"]
                let after = EntityKind(rawValue: entity).map(RecordHome.followsClient) == true ? home : before
                var seq: Int64 = try row["seq"]
                guard seq <= numberedBefore || after != before else { continue }
                if seq <= numberedBefore {
                    sequence += 1
                    seq = sequence
                }
                if let before, before != after { try RecordHome.depart(db, from: before, entity, id, seq: seq) }
                try update.execute([seq, after, entity, id])
            }
        }
    }

    /// Decides the referrals of `providers` outside a sync (a restore, a revoked replica's
    /// leases released), as the store's own writes under new sequence numbers.
    func schedule(_ db: any SQLConnection, providers: Set<String>) throws {
        guard !providers.isEmpty else { return }
        let start = try db.value(Int64.self, "SELECT value FROM sequence") ?? 0
        var sequence = start, moved: Set<String> = []
        try scheduleReferrals(db, touchedBy: [], providers: providers, sequence: &sequence, moved: &moved, at: UTCTimestamp.string())
        try Self.renumber(db, clients: moved, numberedBefore: start, sequence: &sequence)
        try db.execute("UPDATE sequence SET value = ?", [sequence])
    }

    /// Caps hold in the merged state: decide the referrals of every provider this batch touched,
    /// and whether each leased activation in `unreserved` (no reserved place was left for it)
    /// found a free one.
    func scheduleReferrals(_ db: any SQLConnection, touchedBy merged: [RecordEnvelope], providers: Set<String> = [], unreserved: [String] = [],
                           sequence: inout Int64, moved: inout Set<String>, at: String) throws {
        var touched = providers
        for envelope in merged {
            if envelope.entity == .provider { touched.insert(envelope.id) }
            if envelope.entity == .referral, let provider = envelope.state.value(.providerId).stringValue { touched.insert(provider) }
        }
        guard !touched.isEmpty else { return }
        let nowMillis = self.nowMillis
        var centralStamp = try CentralActor.load(db)
        // Like a replica's clock after a pull, the central store's moves past what it merged:
        // its decisions come after the writes they decide on, in HLC order too.
        for envelope in merged { centralStamp.observe(envelope.state) }
        let actor = centralStamp.actor.rawValue
        var next = sequence, clients = moved
        let scheduler = ReferralScheduler(today: today, stamp: { centralStamp.next(nowMillis: nowMillis()) }) { kind, id, state in
            next += 1
            let before = try Self.load(db, kind, id)
            try Self.save(db, kind, id, state, sequence: next)
            try Self.audit(db, kind, id, before: before, after: state, at: at, replica: "central", actor: actor, user: "referral scheduler")
            if let client = state.value(.clientId).stringValue { clients.insert(client) }
        }
        let reads = SQLCentralReads(db: db)
        for envelope in merged where envelope.entity == .referral {
            try scheduler.keepFinalState(reads, referral: envelope.id)
            try scheduler.endLeasedDuplicate(reads, referral: envelope.id)
        }
        for id in unreserved { try scheduler.endLeasedWithoutPlace(reads, referral: id) }
        for provider in touched.sorted() { try scheduler.schedule(reads, provider: provider) }
        try CentralActor.save(centralStamp, db)
        sequence = next
        moved = clients
    }

    /// The next pull batch for one replica: records changed after `cursor` that it may see
    /// (projected), and evictions for the ones it holds but may no longer see. Scans at most
    /// ten batches' worth of rows, so a replica that sees little still makes progress. Reads
    /// only: what it delivered is recorded afterwards, in a short write transaction.
    /// `skipping`: stored texts (by `entity/id`) the replica already holds; a replica that sees
    /// everything is not sent them, and they are not even decoded.
    static func pull(_ db: any SQLConnection, replica: RegisteredReplica, cursor requested: Int64, limit: Int, resolver: inout ScopeResolver,
                     skipping: [String: String] = [:]) throws -> PullBatch {
        var batch = PullBatch(cursor: requested)
        batch.incarnation = try db.value(String.self, "SELECT value FROM central_state WHERE name = 'incarnation'")
        batch.horizon = try horizon(db)
        let sequence = try db.value(Int64.self, "SELECT value FROM sequence") ?? 0
        let registration = try db.one("SELECT rescan, scan_all_through FROM replica WHERE id = ?", [replica.id])
        batch.rescan = try registration?["rescan"] ?? 0
        let scanAllThrough: Int64 = try registration?["scan_all_through"] ?? 0
        if batch.rescan > 0 {
            batch.cursor = 0
            batch.scanAllThrough = sequence
        }
        let start = batch.cursor
        let scanLimit = limit * 10
        // A cursor, not fetchAll: the loop stops as soon as the batch is full, so a replica
        // that sees everything reads `limit` rows, not `scanLimit`.
        var scanned = 0, bytes = 0
        let tracks = replica.scope != .all
        let held = db.statement("SELECT 1 FROM delivered WHERE replica_id = ? AND entity = ? AND id = ?")
        // A scoped replica's scan also reads whether it holds each record and, for an office,
        // the values its scope rests on, so that a record is judged without decoding its state.
        // An office reads only the records of its homes (``RecordHome``), and learns from their
        // departures what left them; up to the end of a rescan (its scope changed) or of the
        // records stored before homes, it reads every record, and evicts what it may no longer see.
        var homes: [String] = []
        if case .municipalities(let codes) = replica.scope, batch.rescan == 0, batch.cursor >= scanAllThrough {
            homes = codes.sorted() + [RecordHome.everyOffice]
        }
        let office = if case .municipalities = replica.scope { true } else { false }
        let ofHomes = homes.isEmpty ? "" : "r.home IN (\(homes.map { _ in "?" }.joined(separator: ", "))) AND "
        let (scan, arguments): (String, [any SQLValueConvertible]) = tracks
            ? ("""
               SELECT r.entity, r.id, r.state, r.seq, CASE WHEN d.id IS NULL THEN 0 ELSE 1 END AS held,
               \(office ? scopeValues(db.dialect) : "NULL AS municipality, NULL AS client_id")
               FROM record r LEFT JOIN delivered d ON d.replica_id = ? AND d.entity = r.entity AND d.id = r.id
               WHERE \(ofHomes)r.seq > ? ORDER BY r.seq LIMIT ?
               """, [replica.id] + homes + [batch.cursor, scanLimit + 1])
            : ("SELECT entity, id, state, seq FROM record WHERE seq > ? ORDER BY seq LIMIT ?", [batch.cursor, scanLimit + 1])
        try db.forEachRow(scan, arguments) { row in
            guard scanned < scanLimit, batch.records.count < limit, bytes < SyncLimits.maxPullBytes else {
                batch.more = true
                return false
            }
            scanned += 1
            batch.cursor = try row["seq"]
            guard let kind = EntityKind(rawValue: try row["entity"]) else { return true }
            let id: String = try row["id"]
            let text: String = try row["state"]
            if !tracks, let sent = skipping["\(kind.rawValue)/\(id)"], sent == text { return true }
            var state: RecordState?
            let visible: Bool
            if tracks, let known = try resolver.visibility(kind, municipality: row["municipality"], clientID: row["client_id"]) {
                visible = known
            } else {
                let decoded = try decode(text)
                state = decoded
                visible = try resolver.isVisible(kind, id, decoded)
            }
            if visible {
                bytes += text.utf8.count
                batch.records.append(RecordEnvelope(entity: kind, id: id, state: resolver.projected(kind, try state ?? decode(text))))
                if tracks { batch.delivered.append(RecordKey(entity: kind, id: id)) }
            } else if tracks, try row["held"] as Int64 == 1 {
                // The delivered row stays: should this answer be lost, or never applied, the
                // next pull from the replica's older cursor passes this row again and sends the
                // eviction again (evicting a record the replica no longer holds is a no-op).
                batch.evict.append(RecordKey(entity: kind, id: id))
            }
            return true
        }
        if !homes.isEmpty { try passDepartures(db, &batch, from: homes, after: start, limit: limit, replica: replica, held: held, resolver: &resolver) }
        try passCollected(db, &batch, after: start, limit: limit, replica: replica, held: held)
        // Nothing left: the cursor moves to the end of the sequence, past numbers no record
        // holds any more (collected and forgotten tombstones), so that a replica that pulled
        // everything is past the tombstone horizon too.
        if !batch.more { batch.cursor = max(batch.cursor, sequence) }
        return batch
    }

    /// The winning values an office's scope rests on, read from a stored state `r.state` in
    /// SQL: `municipality` of a client and `client_id` of any other record, each only when it
    /// is a JSON string (as `RecordState.value(_:).stringValue`), else null.
    /// `PullScopeValuesTests` checks them against the decoded state on both backends.
    static func scopeValues(_ dialect: SQLDialect) -> String {
        "CASE WHEN r.entity = 'client' THEN \(winningString("municipality", of: "r", dialect)) END AS municipality, "
            + "CASE WHEN r.entity <> 'client' THEN \(winningString("clientId", of: "r", dialect)) END AS client_id"
    }

    /// The winning value of `field` in the state of the row `table`, when it is a JSON string
    /// (as `RecordState.value(_:).stringValue`), else null.
    static func winningString(_ field: String, of table: String, _ dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite: "CASE WHEN json_type(\(table).state, '$.f.\(field)[0][0]') = 'text' THEN json_extract(\(table).state, '$.f.\(field)[0][0]') END"
        case .postgres: "CASE WHEN jsonb_typeof(\(table).state::jsonb #> '{f,\(field),0,0}') = 'string' THEN \(table).state::jsonb #>> '{f,\(field),0,0}' END"
        }
    }

    /// Adds, as evictions, the records that left the office's homes in the sequence numbers the
    /// batch passes, that it holds and may no longer see; at most `limit` departures per batch.
    private static func passDepartures(_ db: any SQLConnection, _ batch: inout PullBatch, from homes: [String], after start: Int64, limit: Int,
                                       replica: RegisteredReplica, held: SQLStatement, resolver: inout ScopeResolver) throws {
        let through = batch.more ? batch.cursor : .max
        let departures = try db.all("""
            SELECT DISTINCT entity, id, seq FROM departure
            WHERE home IN (\(homes.map { _ in "?" }.joined(separator: ", "))) AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?
            """, homes + [start, through, limit + 1])
        let passed = departures.prefix(limit)
        let evicting = Set(batch.evict)
        for row in passed {
            guard let kind = EntityKind(rawValue: try row["entity"]) else { continue }
            let key = RecordKey(entity: kind, id: try row["id"])
            guard !evicting.contains(key), try held.value(Bool.self, [replica.id, key.entity.rawValue, key.id]) == true,
                  let state = try load(db, kind, key.id), try !resolver.isVisible(kind, key.id, state) else { continue }
            batch.evict.append(key)
        }
        if departures.count > limit, let last = passed.last {
            // As for collected tombstones: records above `last` come again next time.
            batch.cursor = try last["seq"]
            batch.more = true
        }
    }

    /// Adds the collected tombstones the batch passes, as evictions for a replica that may hold
    /// them; at most `limit` keys per batch.
    private static func passCollected(_ db: any SQLConnection, _ batch: inout PullBatch, after start: Int64, limit: Int,
                                      replica: RegisteredReplica, held: SQLStatement) throws {
        let keys = try collectedKeys(db, after: start, through: batch.more ? batch.cursor : .max, limit: limit + 1)
        let passed = keys.prefix(limit)
        for (key, _) in passed where try replica.scope == .all || held.value(Bool.self, [replica.id, key.entity.rawValue, key.id]) == true {
            batch.evict.append(key)
        }
        if keys.count > limit, let last = passed.last {
            // Records of this batch above `last` come again next time: merging them twice changes nothing.
            batch.cursor = last.seq
            batch.more = true
        }
    }

    struct PullBatch: Sendable {
        var records: [RecordEnvelope] = []
        var evict: [RecordKey] = []
        var cursor: Int64
        var more = false
        /// Records this batch delivers to a scoped replica, to remember as held.
        var delivered: [RecordKey] = []
        /// The replica's rescan generation when read (0: no rescan).
        var rescan: Int64 = 0
        /// For a rescan: the sequence of its snapshot, up to which the replica's next pulls
        /// read every record, not only its homes'.
        var scanAllThrough: Int64 = 0
        /// The store's incarnation, read in the same snapshot.
        var incarnation: String?
        /// The tombstone horizon, read in the same snapshot.
        var horizon: Int64 = 0
    }

    /// A replica whose counter went back (restored from a backup) or whose actor id belongs to
    /// another replica (a copied database) would reuse dots: refuse it before it merges anything.
    static func checkActor(_ db: any SQLConnection, _ header: SyncHeader, replica: RegisteredReplica) throws {
        if try db.value(String.self, "SELECT actor FROM central_actor") == header.actor.rawValue
            || db.value(Bool.self, "SELECT 1 FROM former_central_actor WHERE actor = ?", [header.actor.rawValue]) == true {
            throw KasvuError(.permissionDenied, "actor \(header.actor) is the central store's own")
        }
        guard let row = try db.one("SELECT replica_id, max_counter FROM actor WHERE actor = ?", [header.actor.rawValue]) else {
            return
        }
        let owner: String = try row["replica_id"], seen: Int64 = try row["max_counter"]
        let recovery = DotRegistry.recovery
        if owner != replica.id {
            throw KasvuError(.replicaRewound, "actor \(header.actor) belongs to another replica: this database is a copy; \(recovery)")
        }
        if UInt64(seen) > header.actorCounter {
            throw KasvuError(.replicaRewound, "replica \(replica.id) went back from write \(seen) to \(header.actorCounter) (restored from a backup?); \(recovery)")
        }
    }

    /// Why the write notes pushed with a record may not go into the audit trail, or nil
    /// (``WriteNote/refusal(_:state:actor:headerCounter:latest:)``).
    static func noteRefusal(_ envelope: RecordEnvelope, header: SyncHeader, latest: HLC) -> String? {
        guard !envelope.writes.isEmpty else { return nil }
        for note in envelope.writes {
            if let refusal = note.refusal(envelope.entity, state: envelope.state, actor: header.actor, headerCounter: header.actorCounter, latest: latest) {
                return refusal
            }
        }
        return WriteNote.disagreement(envelope.writes, state: envelope.state, actor: header.actor)
    }

    /// Whether `pushed` carries a write of one of `actors` (the pusher's, present and former)
    /// that `stored` already holds: the pusher wrote this record before, so answering its retry
    /// reveals nothing it did not know.
    static func repeatsOwnWrites(_ pushed: RecordState, of actors: Set<ActorID>, stored: RecordState) -> Bool {
        pushed.fields.contains { field, entries in
            entries.contains { actors.contains($0.dot.actor) && stored.fields[field]?.contains($0) == true }
        }
    }

    /// The same dot of this replica's actor with different content means two databases wrote
    /// under one actor id. (Another actor's entry that differs is a forgery of that record
    /// alone, refused by ``PushCheck``.)
    static func checkDotsNotReused(_ envelope: RecordEnvelope, current: RecordState, header: SyncHeader) throws {
        for (field, entries) in envelope.state.fields {
            guard let known = current.fields[field] else { continue }
            for entry in entries where entry.dot.actor == header.actor {
                if let same = known.first(where: { $0.dot == entry.dot }), same != entry {
                    throw KasvuError(.replicaRewound, "write \(entry.dot) of \(envelope.entity.rawValue) \(envelope.id) arrived with different content: two databases share actor \(entry.dot.actor); \(DotRegistry.recovery)")
                }
            }
        }
    }

    /// A pushed state must be well-formed: canonical id, known fields with valid values, and
    /// a version vector that covers its own entries.
    static func wellFormed(_ envelope: RecordEnvelope) -> Result<RecordEnvelope, KasvuError> {
        do {
            let canonical = try Self.canonical(envelope.id)
            guard canonical == envelope.id else { throw KasvuError.validationFailed(field: "id", "must be a lowercase UUID") }
            for (field, entries) in envelope.state.fields {
                for entry in entries {
                    _ = try envelope.entity.schema.validateValue(field, entry.value)
                    guard envelope.state.vv.covers(entry.dot) else {
                        throw KasvuError.validationFailed(field: field, "entry \(entry.dot) is not covered by the record's version vector")
                    }
                }
            }
            return .success(envelope)
        } catch let error as KasvuError {
            return .failure(error)
        } catch {
            return .failure(.validationFailed(field: "push", "\(error)"))
        }
    }
}
