import Foundation
import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync
import Synchronization

/// A deterministic fault-injection simulation of the real replica and central-store code:
/// several replicas make random offline writes and sync through a transport that drops
/// requests, loses responses after the central commit, and delivers twice; replicas crash
/// and reopen, the central store restarts (and, with `centralRestores`, is backed up while
/// serving and restored from its last backup, losing what it merged since), clocks drift,
/// tombstones are collected (now and then as if every replica had been away past the limit,
/// so that replicas return past the horizon and pull everything again), and laptops are backed
/// up, restored from their backup (losing what they wrote since and the central store never
/// merged, and writing again before they sync) or copied to a second laptop that works under
/// the same replica (with `laptopRestores`); the central store refuses the one that reuses a
/// dot (`replica_rewound`), which then runs `kasvu recover` and syncs on.
/// After a final fault-free sync every
/// replica must equal the others, every field must hold exactly the writes no other write
/// had seen (nothing acknowledged lost, every concurrent write surfaced; after a restore, at
/// least those: a lost write that a later one had superseded may come back beside it), every replica must
/// hold exactly the central state in its scope, no dot may stand for two different writes at
/// the central store, no replica may hold a collected record, no
/// erased henkilötunnus may be left in any file, and no provider may ever have more active
/// referrals than its cap.
///
/// Replica 0 is the central office (sees all), replica 1 an office for municipalities 749
/// and 402, further replicas offices for 749 alone. Clients move between 749 and 402, so
/// they enter and leave the narrower scopes. The narrow offices only create clients (in 749)
/// and read: a write racing with a move out of its writer's scope is rejected or evicted by
/// design, which this check of "nothing acknowledged lost" does not model. Honest replicas
/// are never refused: a rejection is a violation.
///
/// A malicious replica (``MaliciousReplica``, on by default) sends forged states among them;
/// every forgery must be refused, and the invariants above must hold for the honest ones.
///
/// ```swift
/// let report = try await Simulation(seed: 7, directory: tmp).run()
/// print(report)
/// ```
public struct Simulation: Sendable {
    public let seed: UInt64
    public let replicaCount: Int
    public let steps: Int
    public let directory: URL
    /// Whether a malicious replica sends forged states among the honest ones.
    public let malicious: Bool
    /// Whether the central store is backed up and restored from its last backup now and then.
    public let centralRestores: Bool
    /// Whether laptops are backed up, restored from their backup and copied to a second laptop.
    public let laptopRestores: Bool
    /// Whether capacity leases are on (issue 18), with a provider cap of 12 instead of 2, so
    /// that offices hold leases and make referrals active offline.
    public let leases: Bool

    public init(seed: UInt64, replicas: Int = 3, steps: Int = 60, malicious: Bool = true, centralRestores: Bool = false,
                laptopRestores: Bool = false, leases: Bool = false, directory: URL) {
        self.seed = seed
        self.replicaCount = replicas
        self.steps = steps
        self.malicious = malicious
        self.centralRestores = centralRestores
        self.laptopRestores = laptopRestores
        self.leases = leases
        self.directory = directory
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var writes = 0, syncs = 0, failedSyncs = 0, droppedRequests = 0, lostResponses = 0, duplicates = 0
        public var replicaCrashes = 0, centralRestarts = 0, conflicts = 0, evictions = 0, forgeries = 0
        /// Backups of the central store taken, and restores of one (each loses what was merged since).
        public var centralBackups = 0, centralRestores = 0
        /// Clients erased by the end, whose henkilötunnus was searched for in every file.
        public var erasures = 0
        /// Tombstone collection runs, tombstones they collected, and writes to collected records
        /// refused as `not_found` (only after a run that counted no replica as in use).
        public var collections = 0, collectedTombstones = 0, refusedAsCollected = 0
        /// Laptop backups taken, restores from one, copies to a second laptop, and recoveries
        /// (`kasvu recover`) of replicas the central store refused as rewound.
        public var laptopBackups = 0, laptopRestores = 0, laptopCopies = 0, recoveries = 0
        /// Referrals made and hours reported by honest replicas (writes that landed locally).
        public var referrals = 0, hours = 0
        /// Of those referrals, the ones made active at once under a capacity lease.
        public var leasedReferrals = 0
        /// With leases: days the clock jumped (a weekend, a holiday), leases the store granted,
        /// and those given back with places unspent after their expiry.
        public var daysPassed = 0, leasesGranted = 0, leasesReturnedExpired = 0
        /// Hours reports a restored central store refused because it decided their referral
        /// anew, later than the month reported (README, "Backup and restore"): kept by their
        /// replica, shown in `sync/status`, and sent again at every sync.
        public var hoursRefusedAfterRedecision = 0
        public var violations: [String] = []

        public init() {}

        /// Adds another schedule's counts (a run's totals).
        public mutating func add(_ other: Report) {
            writes += other.writes
            syncs += other.syncs
            failedSyncs += other.failedSyncs
            droppedRequests += other.droppedRequests
            lostResponses += other.lostResponses
            duplicates += other.duplicates
            replicaCrashes += other.replicaCrashes
            centralRestarts += other.centralRestarts
            centralBackups += other.centralBackups
            centralRestores += other.centralRestores
            erasures += other.erasures
            collections += other.collections
            collectedTombstones += other.collectedTombstones
            refusedAsCollected += other.refusedAsCollected
            laptopBackups += other.laptopBackups
            laptopRestores += other.laptopRestores
            laptopCopies += other.laptopCopies
            recoveries += other.recoveries
            conflicts += other.conflicts
            evictions += other.evictions
            forgeries += other.forgeries
            referrals += other.referrals
            leasedReferrals += other.leasedReferrals
            daysPassed += other.daysPassed
            leasesGranted += other.leasesGranted
            leasesReturnedExpired += other.leasesReturnedExpired
            hours += other.hours
            hoursRefusedAfterRedecision += other.hoursRefusedAfterRedecision
            violations += other.violations
        }

        public var description: String {
            "writes \(writes), syncs \(syncs) (\(failedSyncs) failed), dropped \(droppedRequests), lost responses \(lostResponses), "
                + "duplicated \(duplicates), replica crashes \(replicaCrashes), central restarts \(centralRestarts), "
                + "central backups \(centralBackups) and restores \(centralRestores), erased clients searched \(erasures), "
                + "tombstone collections \(collections) (\(collectedTombstones) collected, \(refusedAsCollected) late writes refused), "
                + "laptop backups \(laptopBackups), restores \(laptopRestores), copies \(laptopCopies), recoveries \(recoveries), conflicts \(conflicts), "
                + "evictions \(evictions), forgeries refused \(forgeries), referrals \(referrals) (\(leasedReferrals) leased), "
                + "days passed \(daysPassed), leases granted \(leasesGranted) (\(leasesReturnedExpired) given back unspent after their expiry), hours reports \(hours) "
                + "(\(hoursRefusedAfterRedecision) refused after a restore decided their referral anew), violations \(violations.count)"
        }
    }

    /// One acknowledged write of one field and what its writer had seen of the record.
    struct LoggedWrite: Hashable {
        let key: String
        var dot: Dot
        let seen: VersionVector
        /// The replica slot that wrote it, and its timestamp (a restored or copied laptop may
        /// write another write under the same dot).
        let writer: Int
        var hlc: HLC
        /// Every dot a recovery moved it from, with its timestamp: a laptop restored from a
        /// backup older than the recovery holds it under one of those again.
        var formerDots: [Dot: HLC] = [:]
    }

    public func run() async throws -> Report {
        var rng = SplitMix64(seed: seed)
        var report = Report()
        let time = SimulatedTime()
        let centralPath = directory.appendingPathComponent("central.sqlite").path
        let store = CentralHandle(try SQLCentralStore(path: centralPath, nowMillis: time.now))
        let faults = FaultPlan(seed: seed)
        var replicas: [SimulatedReplica] = []
        for index in 0..<replicaCount {
            let role: ReplicaRole = index == 0 ? .admin : .office
            let scope = Self.scope(of: index)
            let token = try await store.current.addReplica(id: "r\(index)", role: role, scope: scope)
            let path = directory.appendingPathComponent("r\(index).sqlite").path
            let skew = ClockSkew(Int64.random(in: -30_000...30_000, using: &rng))
            let replica = try Replica.create(at: path, replicaID: "r\(index)", role: role,
                                             nowMillis: time.clock(skew))
            replicas.append(SimulatedReplica(replica: replica, token: token, path: path, skew: skew, scope: scope))
        }
        func newID() -> String { UUID(uuid: (0..<16).reduce(into: [UInt8]()) { bytes, _ in bytes.append(UInt8.random(in: 0...255, using: &rng)) }.withUnsafeBytes { $0.load(as: uuid_t.self) }).uuidString.lowercased() }
        let provider = try await replicas[0].replica.create(.provider, fields: [
            "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("Pohjois-Savo"),
            "cap": .int(Int64(cap)), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ], id: newID())
        if leases { try await store.current.setCapacityLeases(true) }
        // Leased referrals the store has held active (none may ever be taken back), and the
        // store's leases as last seen.
        var leaseWatch = LeaseWatch()
        // With leases, days pass now and then, so that leases expire, are given back and granted
        // anew; at most 25 days in all (an office that does not sync for 30 days counts as
        // away). From their own stream, as are the wide office's extra referrals; only lease
        // schedules differ from what their seeds made before leases.
        var dayRandom = SplitMix64(seed: seed ^ 0xDA75)
        var log: [LoggedWrite] = []
        let sightings = laptopRestores ? nil : Sightings()
        var person = 0
        var identities: [String: String] = [:]  // client id → the henkilötunnus it was created with
        var forger = malicious
            ? MaliciousReplica(token: try await store.current.addReplica(id: "m", role: .office, scope: MaliciousReplica.scope), seed: seed)
            : nil
        // Backups and restores of the central store draw from their own stream, so that the
        // other faults of a seed stay what they were.
        var backupRandom = SplitMix64(seed: seed ^ 0xBAC0)
        var backup: String?
        // Tombstone collection, likewise. `everyoneAway`: a run counted no replica as in use, so
        // a replica's writes to a record collected meanwhile may be refused (`not_found`).
        var collectRandom = SplitMix64(seed: seed ^ 0x70B5)
        var everyoneAway = false
        // Records collected before a central restore: the restored store may hold them again.
        var collectedBeforeRestore: Set<String> = []
        // Laptop backups, restores and copies, likewise.
        var laptopRandom = SplitMix64(seed: seed ^ 0x1A97)
        // Fields where a recovery stamped writes again: a write the central store had merged
        // under its old dot may stand beside its restamped twin (a shown conflict), so there
        // every write no other had seen must be held, and more may be.
        var restampedKeys: Set<String> = []

        /// A replica the central store refused as rewound runs `kasvu recover`: its writes the
        /// store does not hold are stamped again under a new actor, and so are they in the log.
        let trace = Self.trace
        func recover(_ index: Int) async throws {
            let before = try await Self.everything(replicas[index].replica)
            // The writes of this database that the recovery stamped again ("key dot hlc").
            var restamping: Set<String> = []
            // As `kasvu recover` does: first ask the store which of the writes it holds.
            let point = try Replica.recoveryPoint(at: replicas[index].path)
            guard let registered = try await store.current.authenticate(token: replicas[index].token) else { return }
            var storeHolds: [UInt64: HLC] = [:]
            var from = point.acknowledged
            while true {
                let page = try await store.current.heldWrites(of: point.actor, after: from, for: registered)
                for write in page.writes { storeHolds[write.counter] = write.hlc }
                guard page.more, let last = page.writes.last?.counter else { break }
                from = last
            }
            let summary = try Replica.recover(at: replicas[index].path, held: storeHolds)
            let former = summary.formerActor
            replicas[index].replica = try Replica.open(at: replicas[index].path, nowMillis: time.clock(replicas[index].skew))
            let after = try await Self.everything(replicas[index].replica)
            var dotsAfter: [String: Set<Dot>] = [:]
            for envelope in after {
                for (field, entries) in envelope.state.fields { dotsAfter["\(envelope.entity.rawValue)/\(envelope.id)/\(field)"] = Set(entries.map(\.dot)) }
            }
            // Restamped: an entry the recovery gave the new dot (only records with unpushed
            // writes are; an acknowledged record keeps its dots whatever their number).
            for envelope in before {
                for (field, entries) in envelope.state.fields {
                    let key = "\(envelope.entity.rawValue)/\(envelope.id)/\(field)"
                    for entry in entries where entry.dot.actor == former && entry.dot.counter > summary.acknowledged {
                        restampedKeys.insert(key)
                        if dotsAfter[key]?.contains(entry.dot) == false, dotsAfter[key]?.contains(summary.restampedAs) == true {
                            restamping.insert("\(key) \(entry.dot) \(entry.hlc.rawValue)")
                        }
                    }
                }
            }
            let stamped = after.lazy.flatMap { $0.state.fields.values.joined() }.first { $0.dot == summary.restampedAs }?.hlc
            // Whoever logged it: a copy of this laptop logged the writes it made before the copy.
            for i in log.indices {
                if restamping.contains("\(log[i].key) \(log[i].dot) \(log[i].hlc.rawValue)") {
                    log[i].formerDots[log[i].dot] = log[i].hlc
                    log[i].dot = summary.restampedAs
                    log[i].hlc = stamped ?? log[i].hlc
                } else if log[i].formerDots.contains(where: { restamping.contains("\(log[i].key) \($0.key) \($0.value.rawValue)") }) {
                    // Another copy stamped this write again already: it now has a third name.
                    log[i].formerDots[summary.restampedAs] = stamped
                }
            }
            report.recoveries += 1
            trace("recover r\(index): \(former) → \(summary.actor), acknowledged \(summary.acknowledged), claimed \(summary.claimed), restamped \(summary.restamped), held \(storeHolds.keys.sorted())")
        }

        func sync(_ index: Int, faulty: Bool) async -> Bool {
            // A replica refused as rewound recovers (`kasvu recover`) and syncs once more.
            for attempt in 0..<2 {
                let transport = InProcessTransport(store: store, token: replicas[index].token, faults: faulty ? faults : nil)
                // Small batches each way, so that a sync takes many round trips (and pulls prefetch).
                let client = SyncClient(replica: replicas[index].replica, transport: transport, batchSize: Int.random(in: 1...5, using: &rng),
                                        pullLimit: Int.random(in: 1...8, using: &rng))
                do {
                    let summary = try await client.run()
                    if let sightings { sightings.note(index, try await Self.everything(replicas[index].replica)) }
                    trace("sync r\(index) ok pushed \(summary.pushed) pulled \(summary.pulled) actor \(replicas[index].replica.actor)")
                    report.evictions += summary.evicted
                    // Honest replicas are never refused: every rule they follow locally, the central
                    // store applies the same way.
                    for rejection in summary.rejections {
                        trace("refused r\(index) \(rejection.entity) \(rejection.id): \(rejection.kind)")
                        // The record, or the client it belongs to (named in the message), was
                        // collected while this replica was counted as away, or while it was an old
                        // or second copy of a laptop whose other copy had pulled past the delete.
                        if everyoneAway || report.laptopRestores + report.laptopCopies > 0, rejection.kind == KasvuError.Kind.notFound.rawValue,
                           let collected = try? CentralInspection.collected(centralPath),
                           collected.contains(rejection.id) || collected.contains(where: rejection.message.contains) {
                            report.refusedAsCollected += 1
                            continue
                        }
                        report.violations.append("honest r\(index) was refused \(rejection.entity) \(rejection.id): \(rejection.kind) \(rejection.message)")
                    }
                    return true
                } catch let error as KasvuError where error.kind == .replicaRewound && attempt == 0 {
                    trace("sync r\(index) refused as rewound: \(error.message)")
                    do { try await recover(index) } catch { report.violations.append("recovery of r\(index) failed: \(error)") }
                } catch {
                    trace("sync r\(index) failed: \(error)")
                    return false
                }
            }
            return false
        }

        for _ in 0..<steps {
            time.advance(by: UInt64.random(in: 1...2_000, using: &rng))
            if leases, Int.random(in: 0..<12, using: &dayRandom) == 0 {
                let days = Int.random(in: 1...4, using: &dayRandom)
                if report.daysPassed + days <= 25 {
                    time.advance(by: UInt64(days) * 86_400_000)
                    report.daysPassed += days
                    trace("\(days) days pass")
                }
            }
            let index = Int.random(in: 0..<replicas.count, using: &rng)
            let replica = replicas[index].replica
            let narrow = replicas[index].scope == .municipalities(["749"])
            let live = try await replica.list(.client, limit: 1000).items
            // With leases, the wide office refers clients more often (from the days' stream), so
            // that leases are spent and places run short.
            let referring = leases && index == 1 && !live.isEmpty && Int.random(in: 0..<4, using: &dayRandom) == 0
            let action = referring ? 10 : live.isEmpty ? 0 : Int.random(in: 0..<20, using: &rng)
            switch action {
            case 0..<4:
                person += 1
                let hetu = PersonalIdentityCode.synthetic(Int(seed % 1000) * 50 + person, year: 1985)
                let client = try await replica.create(.client, fields: [
                    "hetu": .string(hetu), "lastName": .string("Asiakas \(person)"),
                    "municipality": .string(narrow ? "749" : ["749", "402"].randomElement(using: &rng)!),
                    "monthsUnemployed": .int(10), "educationLevel": .string("basic"),
                    "monthsEmployedLast24": .int(2), "languageSkills": .string("good"),
                ], id: newID())
                identities[client.id] = hetu
                let state = try await replica.state(.client, id: client.id)!
                for (field, entries) in state.fields {
                    log.append(LoggedWrite(key: "client/\(client.id)/\(field)", dot: entries[0].dot, seen: VersionVector(), writer: index, hlc: entries[0].hlc))
                }
                report.writes += 1
            case 4..<9 where !live.isEmpty && !narrow:
                let target = live.randomElement(using: &rng)!
                let field = ["phone", "language", "status", "lastName", "municipality"].randomElement(using: &rng)!
                let value: FieldValue = switch field {
                case "municipality": .string(["749", "402"].randomElement(using: &rng)!)
                case "phone": .string("040 \(Int.random(in: 100_000...999_999, using: &rng))")
                case "language": .string(["fi", "sv", "en"].randomElement(using: &rng)!)
                case "status": .string(["registered", "assessment", "referred"].randomElement(using: &rng)!)
                default: .string(["Virtanen", "Korhonen", "Mäkinen"].randomElement(using: &rng)!)
                }
                try await logged(replica, index, .client, target.id, field, &log, sightings) { _ = try await replica.update(.client, id: target.id, set: [field: value]) }
                report.writes += 1
            case 9 where !live.isEmpty && !narrow:
                let target = live.randomElement(using: &rng)!
                try await logged(replica, index, .client, target.id, "deleted", &log, sightings) { try await replica.delete(.client, id: target.id) }
                report.writes += 1
            case 10 where !live.isEmpty && !narrow:
                // Profile, confirm and refer a client: the central store applies the cap.
                let target = live.randomElement(using: &rng)!
                if let proposal = try? await logged(replica, index, .client, target.id, "riskGroupProposal", &log, sightings, { try await replica.profile(clientID: target.id) }) {
                    _ = try? await logged(replica, index, .client, target.id, "riskGroup", &log, sightings) {
                        try await replica.confirmRiskGroup(clientID: target.id, group: proposal.group, reason: nil, confirmedBy: "sim")
                    }
                    // Refused locally when the client already has an open referral: only a
                    // referral made counts, so that the cap check has something to check.
                    if let made = try? await replica.createReferral(["clientId": .string(target.id), "providerId": .string(provider.id), "chosenBy": .string("client")],
                                                                    id: newID()) {
                        report.writes += 1
                        report.referrals += 1
                        if made["leaseId"] != .null { report.leasedReferrals += 1 }
                    }
                }
            case 11 where !live.isEmpty && !narrow:
                let target = live.randomElement(using: &rng)!
                _ = Int.random(in: 1...9, using: &rng)  // a month drawn by earlier versions: seeds replay their schedules
                let amount = Int.random(in: 1...160, using: &rng)
                // Hours are reported from the month the referral started (never before it).
                let started = try await replica.list(.referral, where: ["clientId": .string(target.id), "state": .string("active")]).items.first
                if let start = started?["startDate"].stringValue,
                   (try? await replica.reportHours(["clientId": .string(target.id), "providerId": .string(provider.id),
                                                     "month": .string(String(start.prefix(7))), "hours": .string("\(amount)")])) != nil {
                    report.writes += 1
                    report.hours += 1
                }
            case 12:
                // A replica crash: the process dies; committed work is all that survives.
                replicas[index].replica = try Replica.open(at: replicas[index].path, nowMillis: time.clock(replicas[index].skew))
                report.replicaCrashes += 1
            case 13:
                try store.replace(with: SQLCentralStore(path: centralPath, nowMillis: time.now))
                report.centralRestarts += 1
            case 14:
                replicas[index].skew.set(Int64.random(in: -60_000...60_000, using: &rng))
            default:
                report.syncs += 1
                if await sync(index, faulty: true) {
                    // After its sync, no replica sees more active referrals than the cap either.
                    let seen = try await replicas[index].replica.list(.referral, where: ["providerId": .string(provider.id), "state": .string("active")],
                                                                     limit: 1000).items.count
                    if seen > cap { report.violations.append("r\(index) shows \(seen) active referrals after its sync, cap \(cap)") }
                } else {
                    report.failedSyncs += 1
                }
                try checkCaps(centralPath, provider: provider.id, cap: cap, &report)
                if leases { try checkLeases(centralPath, provider: provider.id, cap: cap, watch: &leaseWatch, now: time.now(), &report) }
            }
            switch centralRestores ? Int.random(in: 0..<60, using: &backupRandom) : -1 {
            case 0:
                let path = directory.appendingPathComponent("backup-\(report.centralBackups).sqlite").path
                try await store.current.backup(to: path)
                backup = path
                report.centralBackups += 1
                trace("central backup \(report.centralBackups)")
            case 1 where backup != nil:
                // The server stops, the backup is put in place, the server starts on it.
                collectedBeforeRestore.formUnion(try CentralInspection.collected(centralPath))
                try await SQLCentralStore.restore(from: backup!, to: centralPath, nowMillis: time.now)
                try store.replace(with: SQLCentralStore(path: centralPath, nowMillis: time.now))
                report.centralRestores += 1
                trace("central restore from backup \(report.centralBackups)")
            default:
                break
            }
            switch laptopRestores ? Int.random(in: 0..<40, using: &laptopRandom) : -1 {
            case 0:
                let slot = Int.random(in: 0..<replicas.count, using: &laptopRandom)
                let path = directory.appendingPathComponent("r\(slot)-backup-\(report.laptopBackups).sqlite").path
                try await replicas[slot].replica.backup(to: path)
                replicas[slot].backup = path
                report.laptopBackups += 1
                let counter = try await replicas[slot].replica.syncHeader(pullLimit: 1, userName: nil).actorCounter
                trace("backup r\(slot) at \(counter) of \(replicas[slot].replica.actor)")
            case 1:
                // The laptop's disk is put back as it was at its backup: what it wrote since and
                // the central store never merged is gone with it (out of the log); it may write
                // again before it syncs.
                guard let slot = replicas.indices.filter({ replicas[$0].backup != nil }).randomElement(using: &laptopRandom) else { break }
                let path = directory.appendingPathComponent("r\(slot)-restored-\(report.laptopRestores).sqlite").path
                try FileManager.default.copyItem(atPath: replicas[slot].backup!, toPath: path)
                let restored = try Replica.open(at: path, nowMillis: time.clock(replicas[slot].skew))
                let registered = try CentralInspection.dots(centralPath)
                var kept = log.filter { $0.writer != slot }
                for var write in log where write.writer == slot {
                    let parts = write.key.split(separator: "/").map(String.init)
                    let kind = EntityKind(rawValue: parts[0])!
                    // Merged by the store: its record holds the write, or the store took it
                    // (registered under the same time) into this very record (whose vector has
                    // seen it), since superseded. The dot alone says little: a recovery's
                    // restamp is one dot across many records.
                    let stored = try CentralInspection.state(centralPath, kind, parts[1])
                    let merged = stored?.fields[parts[2]]?.contains { $0.dot == write.dot && $0.hlc == write.hlc } == true
                        || (registered[write.dot] == write.hlc && stored?.vv.covers(write.dot) == true)
                    if !merged {
                        let entries = try await restored.state(kind, id: parts[1])?.fields[parts[2]] ?? []
                        // Under its dot, or under one it had before a recovery the backup predates.
                        let dots = [write.dot: write.hlc].merging(write.formerDots) { current, _ in current }
                        if let entry = entries.first(where: { dots[$0.dot] == $0.hlc }) {
                            (write.dot, write.hlc) = (entry.dot, entry.hlc)
                        } else {
                            // Lost, unless a copy of this laptop made since still holds it and may push it.
                            var elsewhere = false
                            for other in replicas.indices where other != slot {
                                let theirs = try await replicas[other].replica.state(kind, id: parts[1])?.fields[parts[2]] ?? []
                                if theirs.contains(where: { $0.dot == write.dot && $0.hlc == write.hlc }) { elsewhere = true }
                            }
                            guard elsewhere else { continue }
                        }
                    }
                    kept.append(write)
                }
                trace("restore r\(slot): lost \(log.filter { !kept.contains($0) }.map { "\($0.key) \($0.dot)" })")
                log = kept
                let old = replicas[slot].path
                replicas[slot].replica = restored
                replicas[slot].path = path
                for file in [old, old + "-wal", old + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
                report.laptopRestores += 1
            case 2 where replicas.count == replicaCount:
                // A second laptop gets a copy of the database and works on it as the same replica.
                let slot = Int.random(in: 0..<replicaCount, using: &laptopRandom)
                let path = directory.appendingPathComponent("r\(slot)-copy.sqlite").path
                try await replicas[slot].replica.backup(to: path)
                let skew = ClockSkew(Int64.random(in: -30_000...30_000, using: &laptopRandom))
                let copy = try Replica.open(at: path, nowMillis: time.clock(skew))
                replicas.append(SimulatedReplica(replica: copy, token: replicas[slot].token, path: path, skew: skew, scope: replicas[slot].scope))
                report.laptopCopies += 1
                trace("copy r\(slot) → r\(replicas.count - 1)")
            default:
                break
            }
            if Int.random(in: 0..<25, using: &collectRandom) == 0 {
                let away = Int.random(in: 0..<3, using: &collectRandom) == 0
                everyoneAway = everyoneAway || away
                let run = try await store.current.collectTombstones(inactiveAfterDays: away ? 0 : 30)
                report.collectedTombstones += run.collected
                report.collections += 1
                trace("collect\(away ? " (everyone away)" : ""): reach \(run.reach), collected \(run.collected), retired \(run.retired), horizon \(run.horizon)")
            }
            if forger != nil, Int.random(in: 0..<3, using: &forger!.random) == 0,
               let violation = await forger!.act(store, now: time.now(), provider: provider.id) {
                report.violations.append(violation)
            }
        }
        // Fault-free: everything reaches the central store, then everyone. After a restore, a
        // record one replica edited and another created waits for its creator's re-sync: a
        // third round carries it everywhere.
        for _ in 0..<(report.centralRestores > 0 ? 3 : 2) {
            for index in replicas.indices where !(await sync(index, faulty: false)) {
                report.violations.append("final sync of r\(index) failed")
            }
        }
        // Every replica has settled past every delete: each tombstone nothing names goes, and
        // one more round carries the collection to every replica.
        report.collectedTombstones += try await store.current.collectTombstones(inactiveAfterDays: 30).collected
        report.collections += 1
        for index in replicas.indices where !(await sync(index, faulty: false)) {
            report.violations.append("final sync of r\(index) after the collection failed")
        }
        let counts = faults.counts
        report.droppedRequests = counts.dropped
        report.lostResponses = counts.lost
        report.duplicates = counts.duplicated
        report.forgeries = forger?.forged ?? 0

        // Hours reported under a referral decision the restored store lost and made anew for a
        // later start stay with their replica, refused (a documented limit of a restore).
        var redecided: Set<String> = []
        if report.centralRestores > 0 {
            for slot in replicas {
                redecided.formUnion(try await slot.replica.syncStatus().rejections.filter {
                    $0.entity == EntityKind.hours.rawValue && $0.message.contains(WriteRules.noStartedReferral)
                }.map(\.id))
            }
            report.hoursRefusedAfterRedecision = redecided.count
        }
        let reference = try await Self.everything(replicas[0].replica).filter { !redecided.contains($0.id) }
        for index in replicas.indices.dropFirst() {
            let held = try await Self.everything(replicas[index].replica).filter { !redecided.contains($0.id) }
            let expected = Self.visible(reference, to: replicas[index].scope)
            if held != expected {
                report.violations.append("r\(index) does not hold exactly r0's records in its scope: \(Self.difference(held, expected))")
            }
        }
        var finalTimes: [String: [Dot: HLC]] = [:]
        for envelope in reference {
            for (field, entries) in envelope.state.fields {
                finalTimes["\(envelope.entity.rawValue)/\(envelope.id)/\(field)"] = Dictionary(entries.map { ($0.dot, $0.hlc) }) { first, _ in first }
                if entries.count > 1 { report.conflicts += 1 }
            }
        }
        // The narrow offices' clients move out of their scope by design (they are evicted there).
        // A narrow office's write the restored store lost, of a client another office moved out
        // of its scope, comes back as its value only, written again by the office that moved it
        // (README, "Backup and restore"): after a restore, their dots are exempt.
        let narrowSlots = Set(replicas.indices.filter { replicas[$0].scope == .municipalities(["749"]) })
        let narrowActors = Set(log.filter { narrowSlots.contains($0.writer) }.map(\.dot.actor))
        // A collected record is gone everywhere, with its writes; a restored store may hold one
        // collected before the restore again (README, "Collecting tombstones").
        let collected = try CentralInspection.collected(centralPath)
        for envelope in reference where collected.contains(envelope.id) {
            report.violations.append("collected \(envelope.entity.rawValue) \(envelope.id) is still held")
        }
        for (key, writes) in Dictionary(grouping: log, by: \.key) {
            let id = String(key.split(separator: "/")[1])
            if collected.contains(id) || collectedBeforeRestore.contains(id) { continue }
            // Seen under any of its names: a write two copies held was seen by the one that
            // superseded it under its first dot, and may have been stamped again by the other.
            var unseen = Set(writes.filter { write in
                !writes.contains { other in other != write && ([write.dot] + write.formerDots.keys).contains(where: other.seen.covers) }
            }.map(\.dot))
            // A write two copies held unpushed lands once, under whichever dot reached the store
            // first: its first dot, or the one a recovery stamped it again as.
            var held = Set((finalTimes[key] ?? [:]).keys)
            for write in writes where !held.contains(write.dot) {
                // The same write: its former dot with its former time (a copy's other write
                // under that number is another write).
                if let former = write.formerDots.first(where: { finalTimes[key]?[$0.key] == $0.value })?.key {
                    held.remove(former)
                    held.insert(write.dot)
                }
            }
            if report.centralRestores > 0 { unseen = unseen.filter { !narrowActors.contains($0.actor) } }
            // After a restore, a write the store lost that a later one had superseded may come
            // back beside it (a shown conflict): nothing acknowledged is lost, more may show.
            if report.centralRestores > 0 || restampedKeys.contains(key) ? !unseen.isSubset(of: held) : held != unseen {
                report.violations.append("\(key) holds the wrong writes: \(held.sorted()), expected \(unseen.sorted())")
                for write in writes { trace("  \(key): \(write.dot) by r\(write.writer) at \(write.hlc.rawValue), seen \(write.seen), former \(write.formerDots)") }
            }
        }
        try checkCaps(centralPath, provider: provider.id, cap: cap, &report)
        if leases { try checkLeases(centralPath, provider: provider.id, cap: cap, watch: &leaseWatch, now: time.now(), &report) }
        for dot in try CentralInspection.reusedDots(centralPath) {
            report.violations.append("the central store holds two different writes under \(dot)")
        }
        // Erasure: no byte of an erased client's henkilötunnus in any replica's or the central
        // store's files (database and write-ahead log), unless an edit concurrent with the delete
        // still holds personal values (a delete-vs-edit conflict shows them until resolved).
        let erased = reference.filter { envelope in
            envelope.entity == .client && envelope.state.isDeleted
                && !EntityKind.client.schema.personalFields.contains { envelope.state.fields[$0]?.contains { !$0.value.isNull } == true }
        }.map(\.id) + collected.filter { id in !reference.contains { $0.id == id } }.sorted()
        let files = (replicas.map(\.path) + [centralPath]).flatMap { [$0, $0 + "-wal"] }.filter { FileManager.default.fileExists(atPath: $0) }
        let contents = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        for id in erased {
            guard let hetu = identities[id] else { continue }
            for (file, data) in zip(files, contents) where data.range(of: Data("\"\(hetu)\"".utf8)) != nil {
                report.violations.append("the henkilötunnus of erased client \(id) is still in \(URL(fileURLWithPath: file).lastPathComponent)")
            }
        }
        report.erasures += erased.count
        return report
    }

    /// `KASVU_SIM_TRACE=1`: the schedule's syncs, writes, laptop faults and recoveries, and the
    /// logged writes of a field that breaks the check, on stderr (for replaying a failed seed).
    static let tracing = ProcessInfo.processInfo.environment["KASVU_SIM_TRACE"] != nil

    static func trace(_ text: @autoclosure () -> String) {
        if tracing { FileHandle.standardError.write(Data("TRACE \(text())\n".utf8)) }
    }

    /// Runs a write and logs every field it wrote (a delete also erases the personal fields);
    /// nothing when it throws.
    @discardableResult
    private func logged<T>(_ replica: Replica, _ writer: Int, _ kind: EntityKind, _ id: String, _ field: String, _ log: inout [LoggedWrite],
                           _ sightings: Sightings?, _ write: () async throws -> T) async throws -> T {
        let seen = (try await replica.state(kind, id: id)?.vv ?? VersionVector()).merged(with: sightings?.seen(writer, kind, id) ?? VersionVector())
        let result = try await write()
        if let state = try await replica.state(kind, id: id), let written = state.fields[field]?.first {
            for (name, entries) in state.fields where entries.contains(where: { $0.dot == written.dot }) {
                log.append(LoggedWrite(key: "\(kind.rawValue)/\(id)/\(name)", dot: written.dot, seen: seen, writer: writer, hlc: written.hlc))
                Self.trace("write r\(writer) \(kind.rawValue)/\(id)/\(name) \(written.dot)")
            }
        }
        return result
    }

    private func checkCaps(_ centralPath: String, provider: String, cap: Int, _ report: inout Report) throws {
        let active = try CentralInspection.activeReferrals(centralPath, provider: provider)
        if active > cap { report.violations.append("provider has \(active) active referrals, cap \(cap)") }
    }

    /// The provider's cap of 2, or 12 with leases on.
    var cap: Int { leases ? 12 : 2 }

    /// What the lease check remembers between syncs.
    struct LeaseWatch {
        /// Leased referrals the store has held active.
        var active: Set<String> = []
        /// The store's leases: their expiry, and whether places of theirs are unspent.
        var leases: [String: (expiresAt: UInt64, unspent: Bool)] = [:]
    }

    /// With leases on: active and reserved places together within the cap (escrow), and no
    /// leased referral the store held active ever taken back (pending, waitlisted, rejected).
    /// Counts the leases granted, and those given back unspent after their expiry.
    private func checkLeases(_ centralPath: String, provider: String, cap: Int, watch: inout LeaseWatch, now: UInt64, _ report: inout Report) throws {
        let active = try CentralInspection.activeReferrals(centralPath, provider: provider)
        let reserved = try CentralInspection.reservedPlaces(centralPath, provider: provider)
        if active + reserved > cap { report.violations.append("provider has \(active) active and \(reserved) reserved places, cap \(cap)") }
        let states = try CentralInspection.leasedReferralStates(centralPath)
        for id in watch.active where ["pending", "waitlisted", "rejected"].contains(states[id] ?? "") {
            report.violations.append("leased referral \(id) was taken back: \(states[id] ?? "")")
        }
        watch.active.formUnion(states.filter { $0.value == "active" }.keys)
        let leases = try CentralInspection.leaseExpiries(centralPath)
        report.leasesGranted += leases.keys.filter { watch.leases[$0] == nil }.count
        report.leasesReturnedExpired += watch.leases.filter { leases[$0.key] == nil && $0.value.unspent && $0.value.expiresAt <= now }.count
        watch.leases = leases
    }

    static func scope(of index: Int) -> ReplicaScope {
        switch index {
        case 0: .all
        case 1: .municipalities(["749", "402"])
        default: .municipalities(["749"])
        }
    }

    /// What an office replica should hold, worked out here independently of the central
    /// store's scope code: every provider, the clients of its municipalities, their records.
    static func visible(_ all: [RecordEnvelope], to scope: ReplicaScope) -> [RecordEnvelope] {
        guard case .municipalities(let codes) = scope else { return all }
        let clients = Set(all.filter { $0.entity == .client && codes.contains($0.state.value(.municipality).stringValue ?? "") }.map(\.id))
        return all.filter { envelope in
            switch envelope.entity {
            case .provider: true
            case .client: clients.contains(envelope.id)
            default: clients.contains(envelope.state.value(.clientId).stringValue ?? "")
            }
        }
    }

    /// Which records differ, for the report of a failing seed.
    static func difference(_ held: [RecordEnvelope], _ expected: [RecordEnvelope]) -> String {
        let key = { (envelope: RecordEnvelope) in "\(envelope.entity.rawValue)/\(envelope.id)" }
        let heldByKey = Dictionary(held.map { (key($0), $0.state) }, uniquingKeysWith: { first, _ in first })
        let expectedByKey = Dictionary(expected.map { (key($0), $0.state) }, uniquingKeysWith: { first, _ in first })
        let extra = heldByKey.keys.filter { expectedByKey[$0] == nil }.sorted()
        let missing = expectedByKey.keys.filter { heldByKey[$0] == nil }.sorted()
        let changed = heldByKey.keys.filter { expectedByKey[$0] != nil && expectedByKey[$0] != heldByKey[$0] }.sorted()
        return "extra \(extra), missing \(missing), different \(changed)"
    }

    static func everything(_ replica: Replica) async throws -> [RecordEnvelope] {
        var all: [RecordEnvelope] = []
        for kind in EntityKind.allCases { all += try await replica.allStates(kind) }
        return all
    }
}
