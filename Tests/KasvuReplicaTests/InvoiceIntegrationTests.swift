import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// The worked tariff example loaded into a real replica through its public API, and the
/// invoices computed from the stored records. Ids differ (the replica's are UUIDs), so
/// results are compared after mapping them back to the example's names.
@Suite("Invoices from a replica's records")
struct InvoiceIntegrationTests {
    let directory: TemporaryDirectory
    let replica: Replica
    let example = SharedData.json("tariff-example.json")
    /// Example id → replica id, and back.
    var ids: [String: String] = [:]
    var names: [String: String] { Dictionary(uniqueKeysWithValues: ids.map { ($1, $0) }) }

    init() async throws {
        directory = try TemporaryDirectory()
        replica = try Replica.create(at: directory.path("admin.sqlite"), replicaID: "admin", role: .admin)
        try await load()
    }

    private mutating func load() async throws {
        let input = example["input"] as! [String: Any]
        for provider in input["providers"] as! [[String: Any]] {
            ids[provider["id"] as! String] = try await replica.create(.provider, fields: [
                "name": .string(provider["name"] as! String), "businessId": .string(provider["businessId"] as! String),
                "pilotArea": .string("Pohjois-Savo"), "cap": .int(Int64(provider["cap"] as! Int)),
                "capitationBase": .string(provider["capitationBase"] as! String), "hourlyRate": .string(provider["hourlyRate"] as! String),
            ]).id
        }
        let centralActor = ActorID(hex: 0xCE17)
        for (index, referral) in (input["referrals"] as! [[String: Any]]).enumerated() {
            let client = try await replica.create(.client, fields: [
                "hetu": .string(testHetu(index)), "lastName": .string("Asiakas \(index)"), "municipality": .string("749"),
                "monthsUnemployed": .int(6), "educationLevel": .string("vocational"), "monthsEmployedLast24": .int(6), "languageSkills": .string("native"),
            ])
            ids[referral["clientId"] as! String] = client.id
            let group = referral["riskGroup"] as! Int
            let proposal = try await replica.profile(clientID: client.id)
            _ = try await replica.confirmRiskGroup(clientID: client.id, group: group,
                                                   reason: proposal.group == group ? nil : "worked example", confirmedBy: "test")
            let created = try await replica.createReferral([
                "clientId": .string(client.id), "providerId": .string(ids[referral["providerId"] as! String]!), "chosenBy": .string("client"),
            ])
            ids[referral["id"] as! String] = created.id
            // The central office's decision and the referral's history arrive as writes of its actor.
            guard referral["state"] as! String != "pending" else { continue }
            var state = try #require(try await replica.state(.referral, id: created.id))
            var changes: [String: FieldValue] = ["state": .string(referral["state"] as! String), "startDate": .string(referral["start"] as! String)]
            if let end = referral["end"] as? String { changes["endDate"] = .string(end) }
            if let reason = referral["endReason"] as? String { changes["endReason"] = .string(reason) }
            state.write(changes, dot: Dot(centralActor, UInt64(index + 1)), hlc: HLC(millis: 1))
            try await replica.merge([RecordEnvelope(entity: .referral, id: created.id, state: state)])
        }
        for contact in input["contacts"] as! [[String: Any]] {
            _ = try await replica.create(.contact, fields: [
                "clientId": .string(ids[contact["clientId"] as! String]!), "providerId": .string(ids[contact["providerId"] as! String]!),
                "date": .string(contact["date"] as! String), "kind": .string(contact["kind"] as! String),
            ])
        }
        for hours in input["hours"] as! [[String: Any]] {
            ids[hours["id"] as! String] = try await replica.reportHours([
                "clientId": .string(ids[hours["clientId"] as! String]!), "providerId": .string(ids[hours["providerId"] as! String]!),
                "month": .string(hours["month"] as! String), "hours": .string(hours["hours"] as! String),
            ]).id
        }
        for event in input["events"] as! [[String: Any]] {
            _ = try await replica.create(.event, fields: [
                "clientId": .string(ids[event["clientId"] as! String]!), "providerId": .string(ids[event["providerId"] as! String]!),
                "date": .string(event["date"] as! String), "kind": .string(event["kind"] as! String),
            ])
        }
    }

    /// The invoice as Foundation objects with the example's ids, lines and adjustments in a
    /// canonical order (the replica's UUIDs sort differently from c1…c7).
    func normalized(_ invoice: Invoice) throws -> NSDictionary {
        let data = try invoice.jsonData()
        var text = String(decoding: data, as: UTF8.self)
        for (uuid, name) in names { text = text.replacingOccurrences(of: uuid, with: name) }
        return canonical(try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any])
    }

    func canonical(_ object: [String: Any]) -> NSDictionary {
        var object = object
        for key in ["lines", "adjustments"] {
            let items = (object[key] as? [[String: Any]]) ?? []
            object[key] = items.sorted { "\($0["clientId"] ?? "")\($0["id"] ?? "")\($0["reason"] ?? "")" < "\($1["clientId"] ?? "")\($1["id"] ?? "")\($1["reason"] ?? "")" }
        }
        return object as NSDictionary
    }

    @Test func capitationInvoicesMatchTheExample() async throws {
        let expected = (example["expected"] as! [String: Any])["capitation"] as! [[String: Any]]
        for query in (example["queries"] as! [String: Any])["capitation"] as! [[String: Any]] {
            let invoice = try await replica.capitationInvoice(providerID: ids[query["providerId"] as! String]!,
                                                              month: try YearMonth(iso: query["month"] as! String))
            let wanted = try #require(expected.first { $0["providerId"] as? String == query["providerId"] as? String })
            #expect(try normalized(invoice) == canonical(wanted))
        }
    }

    @Test func outcomeInvoiceWithoutAuditMatchesTheExample() async throws {
        let expected = (example["expected"] as! [String: Any])["outcome"] as! [[String: Any]]
        for query in (example["queries"] as! [String: Any])["outcome"] as! [[String: Any]] where query["audit"] == nil {
            let invoice = try await replica.outcomeInvoice(providerID: ids[query["providerId"] as! String]!,
                                                           period: try BillingPeriod(iso: query["period"] as! String))
            let wanted = try #require(expected.first { $0["providerId"] as? String == query["providerId"] as? String })
            #expect(try normalized(invoice) == canonical(wanted))
        }
    }

    /// The audited query: the sample depends on the hours ids, which are UUIDs here, so the
    /// recovery is checked against the findings recorded for whatever was sampled.
    @Test func auditedOutcomeInvoiceCarriesTheRecovery() async throws {
        let query = try #require(((example["queries"] as! [String: Any])["outcome"] as! [[String: Any]]).first { $0["audit"] != nil })
        let audit = query["audit"] as! [String: Any]
        let provider = ids[query["providerId"] as! String]!, period = try BillingPeriod(iso: query["period"] as! String)
        let sampled = try await replica.auditSample(providerID: provider, period: period, rate: audit["rate"] as! String, seed: audit["seed"] as! String)
        #expect(sampled.count == 2)  // ceil(0.4 × 5 reports in the period)
        #expect(try await replica.auditSample(providerID: provider, period: period, rate: audit["rate"] as! String, seed: audit["seed"] as! String) == sampled)
        let verified = audit["verifiedHours"] as! [String: String]
        for id in sampled { _ = try await replica.recordAudit(hoursID: id, verifiedHours: verified[names[id]!]!, auditedBy: "auditor") }

        let plain = try await replica.outcomeInvoice(providerID: provider, period: period)
        let audited = try await replica.outcomeInvoice(providerID: provider, period: period, audit: AuditRequest(seed: audit["seed"] as! String, rate: audit["rate"] as! String))
        #expect(audited.subtotal == plain.subtotal)
        let recovery = try #require(audited.adjustments.first { $0.reason == "audit_recovery" })
        let overClaimed = sampled.contains { Decimal(string: verified[names[$0]!]!)! < Decimal(string: hoursText(names[$0]!))! }
        #expect(overClaimed ? recovery.amount < 0 : recovery.amount == 0)
        #expect(audited.total == plain.total + recovery.amount)

        // A correction reported after the audit is billed, and the audited claim stays beside it:
        // the finding, and so the recovery, are about the claim that was audited.
        let request = AuditRequest(seed: audit["seed"] as! String, rate: audit["rate"] as! String)
        let checked = try await replica.recordAudit(hoursID: sampled[0], verifiedHours: "1", auditedBy: "auditor")
        let beforeCorrection = try await replica.outcomeInvoice(providerID: provider, period: period, audit: request)
        let corrected = try await replica.reportHours(["clientId": checked["clientId"], "providerId": checked["providerId"],
                                                       "month": checked["month"], "hours": .string("1")])
        let afterCorrection = try await replica.outcomeInvoice(providerID: provider, period: period, audit: request)
        #expect(corrected["hours"] != checked["hours"])
        #expect(corrected["auditedHours"] == checked["hours"] && corrected["verifiedHours"] == .string("1"))
        #expect(afterCorrection.subtotal < beforeCorrection.subtotal)
        func errorRate(_ invoice: Invoice) -> Decimal? {
            for case .auditRecovery(_, let rate, _) in invoice.adjustments { return rate }
            return nil
        }
        #expect(errorRate(afterCorrection) == errorRate(beforeCorrection) && errorRate(beforeCorrection).map { $0 > 0 } == true)
    }

    /// The audited query to the cent: the facts read from this replica's records, with the hours
    /// reports under the example's ids (the sample ranks by id) and the example's findings,
    /// give the example's recovery (−218.09 on h5 and h4) and total.
    @Test func auditedOutcomeInvoiceFromRecordsMatchesTheExample() async throws {
        let query = try #require(((example["queries"] as! [String: Any])["outcome"] as! [[String: Any]]).first { $0["audit"] != nil })
        let audit = query["audit"] as! [String: Any]
        let provider = ids[query["providerId"] as! String]!, period = try BillingPeriod(iso: query["period"] as! String)
        var facts = try await replica.invoiceFacts(providerID: provider)
        facts.hours = facts.hours.map { InvoiceFacts.Hours(id: names[$0.id]!, clientId: $0.clientId, month: $0.month, hours: $0.hours) }
        let findings = AuditFindings(seed: audit["seed"] as! String, rate: audit["rate"] as! String, verifiedHours: audit["verifiedHours"] as! [String: String])
        let invoice = try InvoiceCalculator.outcome(facts, period: period, audit: findings, tariff: .current)
        let expected = try #require((((example["expected"] as! [String: Any])["outcome"] as! [[String: Any]])
            .first { $0["providerId"] as? String == query["providerId"] as? String }))
        let wanted = try #require((expected["adjustments"] as! [[String: Any]]).first { $0["reason"] as? String == "audit_recovery" })
        let recovery = try #require(invoice.adjustments.first { $0.reason == "audit_recovery" })
        #expect(Money.format(recovery.amount) == wanted["amount"] as? String)
        #expect(wanted["amount"] as? String == "-218.09")
        #expect(Money.format(invoice.total) == expected["total"] as? String)
    }

    func hoursText(_ name: String) -> String {
        ((example["input"] as! [String: Any])["hours"] as! [[String: Any]]).first { $0["id"] as? String == name }!["hours"] as! String
    }
}

/// Issued invoices: frozen with a number and their inputs; what changes later in their data
/// appears as correction lines on the provider's next issued invoice of the same kind.
extension InvoiceIntegrationTests {
    @Test func anIssuedInvoiceNeverChangesAndTheNextOneCarriesTheCorrection() async throws {
        let p1 = ids["p1"]!
        let march = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-03", issuedBy: "ely")
        #expect(march.number == "CAP-2019-03-\(p1.suffix(8).uppercased())")
        #expect(march.id == IssuedInvoice.id(providerID: p1, kind: .capitation, billed: "2019-03"))
        #expect(march.amount == "368.39" && march.total == "368.39")  // the worked example's capitation of p1
        let document = try #require(try JSONSerialization.jsonObject(with: Data(march.document.utf8)) as? [String: Any])
        let wanted = try #require(((example["expected"] as! [String: Any])["capitation"] as! [[String: Any]]).first { $0["providerId"] as? String == "p1" })
        var computed = march.document
        for (uuid, name) in names { computed = computed.replacingOccurrences(of: uuid, with: name) }
        let invoice = try #require((try JSONSerialization.jsonObject(with: Data(computed.utf8)) as? [String: Any])?["invoice"] as? [String: Any])
        #expect(canonical(invoice) == canonical(wanted))
        #expect((document["corrections"] as? [Any])?.isEmpty == true)
        #expect(document["tariffVersion"] as? String == Tariff.current.version && document["issuedBy"] as? String == "ely")
        let inputs = try #require(document["inputs"] as? [String: Any])
        #expect((inputs["referrals"] as? [[String: Any]])?.count == 4)  // r1–r4 overlap March; r5 is pending
        #expect(inputs["capitationBase"] as? String == "200.00")

        // A client of March lost part of its capitation for missing contacts; a contact
        // recorded late changes March's amount, never March's invoice.
        let sanctioned = try #require(try await replica.capitationInvoice(providerID: p1, month: try YearMonth(iso: "2019-03")).adjustments.first {
            $0.reason == "minimum_service_not_delivered"
        })
        guard case .minimumServiceNotDelivered(let client, let sanction) = sanctioned else { Issue.record("no sanction"); return }
        for day in ["2019-03-05", "2019-03-12"] {
            _ = try await replica.create(.contact, fields: ["clientId": .string(client), "providerId": .string(p1), "date": .string(day), "kind": .string("meeting")])
        }
        let recomputed = try await replica.capitationInvoice(providerID: p1, month: try YearMonth(iso: "2019-03"))
        #expect(recomputed.total == Decimal(string: "368.39")! - sanction)
        #expect(try await replica.issuedInvoice(march.number).document == march.document)  // byte for byte
        #expect(try await replica.issuedInvoice(march.id) == march)

        let april = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-04", issuedBy: "ely")
        let aprilComputed = try await replica.capitationInvoice(providerID: p1, month: try YearMonth(iso: "2019-04"))
        #expect(april.amount == Money.format(aprilComputed.total))
        #expect(april.total == Money.format(aprilComputed.total - sanction))
        struct Lines: Decodable {
            struct Correction: Decodable, Equatable { let invoiceId, invoiceNumber, billed, settled, recomputed, amount: String }
            let corrections: [Correction]
            let total: String
        }
        let aprilLines = try JSONDecoder().decode(Lines.self, from: Data(april.document.utf8))
        #expect(aprilLines.corrections == [Lines.Correction(invoiceId: march.id, invoiceNumber: march.number, billed: "2019-03", settled: "368.39",
                                                            recomputed: Money.format(recomputed.total), amount: Money.format(-sanction))])
        #expect(aprilLines.total == april.total)

        // Settled once: May carries no second correction for March.
        let may = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-05", issuedBy: "ely")
        #expect(try JSONDecoder().decode(Lines.self, from: Data(may.document.utf8)).corrections.isEmpty)
        #expect(may.total == may.amount)
        #expect(try await replica.issuedInvoices(providerID: p1).map(\.number) == [march.number, april.number, may.number])
        #expect(try await replica.issuedInvoices(providerID: p1, kind: .outcome).isEmpty)
        #expect(try await replica.issuedInvoice(march.number).document == march.document)
        #expect(try await replica.issuedInvoice(april.number).document == april.document)
    }

    @Test func anOutcomeInvoiceCorrectsTheHoursReportedAfterItWasIssued() async throws {
        let p2 = ids["p2"]!
        let t1 = try await replica.issueInvoice(providerID: p2, kind: .outcome, billed: "2019-T1", issuedBy: "ely")
        #expect(t1.number == "OUT-2019-T1-\(p2.suffix(8).uppercased())" && t1.total == "1080.00")  // the worked example's p2
        let report = try #require(try await replica.invoiceFacts(providerID: p2).hours.first { $0.month.description.hasPrefix("2019-0") })
        _ = try await replica.reportHours(["clientId": .string(report.clientId), "providerId": .string(p2), "month": .string(report.month.description),
                                           "hours": .string(Money.format(Decimal(string: report.hours)! + 10))])
        let now = try await replica.outcomeInvoice(providerID: p2, period: try BillingPeriod(iso: "2019-T1"))
        #expect(now.total > Decimal(string: "1080.00")!)
        let t2 = try await replica.issueInvoice(providerID: p2, kind: .outcome, billed: "2019-T2", issuedBy: "ely")
        let t2Computed = try await replica.outcomeInvoice(providerID: p2, period: try BillingPeriod(iso: "2019-T2"))
        #expect(t2.amount == Money.format(t2Computed.total))
        #expect(t2.total == Money.format(t2Computed.total + now.total - Decimal(string: "1080.00")!))
        #expect(try await replica.issuedInvoice(t1.number).document == t1.document)
        #expect(t2.document.contains("\"invoiceNumber\":\"\(t1.number)\""))
    }

    @Test func anInvoiceIsIssuedOnceAndOnlyForAMonthThatIsOver() async throws {
        let p1 = ids["p1"]!
        _ = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-03", issuedBy: "ely")
        do {
            _ = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-03", issuedBy: "other")
            Issue.record("issued twice")
        } catch let error as KasvuError {
            #expect(error.kind == .alreadyExists)
        }
        let thisMonth = CalendarDate.today(now: Date()).yearMonth.description
        for (kind, billed) in [(Invoice.Kind.capitation, thisMonth), (.capitation, "2999-01"), (.outcome, "2999-T1"), (.capitation, "2019-13")] {
            do {
                _ = try await replica.issueInvoice(providerID: p1, kind: kind, billed: billed, issuedBy: "ely")
                Issue.record("\(billed) was issued")
            } catch let error as KasvuError {
                #expect(error.kind == .validationFailed)
            }
        }
        do {
            _ = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-04", audit: AuditRequest(seed: "s", rate: "0.5"), issuedBy: "ely")
            Issue.record("a capitation invoice took an audit")
        } catch let error as KasvuError {
            #expect(error.kind == .validationFailed)
        }
        #expect(try await replica.issuedInvoices().count == 1)
    }
}

/// Tariff versions (issue 16, item 4): each invoice is priced by the version valid in its
/// provider's area on its first day; correcting a version shows on the next issued invoice.
extension InvoiceIntegrationTests {
    /// The built-in tariff as JSON with another version name and capitation weights.
    func tariffDocument(version: String, weights: [String: String]) throws -> Data {
        var document = try JSONSerialization.jsonObject(with: Data(Tariff.current.jsonText().utf8)) as! [String: Any]
        document["version"] = version
        var capitation = document["capitation"] as! [String: Any]
        capitation["weights"] = weights
        document["capitation"] = capitation
        return try JSONSerialization.data(withJSONObject: document)
    }

    @Test func eachInvoiceUsesTheTariffVersionValidOnItsFirstDay() async throws {
        let p1 = ids["p1"]!
        let march = try YearMonth(iso: "2019-03"), february = try YearMonth(iso: "2019-02")
        let builtInMarch = try await replica.capitationInvoice(providerID: p1, month: march)
        let builtInFebruary = try await replica.capitationInvoice(providerID: p1, month: february)
        #expect(Money.format(builtInMarch.total) == "368.39")
        let set = try await replica.setTariff(area: "Pohjois-Savo", validFrom: "2019-03-01",
                                              document: try tariffDocument(version: "savo-2019-2", weights: ["1": "0.9", "2": "2.0", "3": "1.2"]))
        #expect(set.area == "MK11" && set.tariff.version == "savo-2019-2")
        let versioned = try await replica.capitationInvoice(providerID: p1, month: march)
        #expect(versioned.total > builtInMarch.total)
        #expect(versioned == (try InvoiceCalculator.capitation(try await replica.invoiceFacts(providerID: p1), month: march, tariff: set.tariff)))
        #expect(try await replica.capitationInvoice(providerID: p1, month: february) == builtInFebruary)
        #expect(try await replica.tariff(area: "MK11", on: try CalendarDate(iso: "2019-02-28")).validFrom == nil)
        #expect(try await replica.tariff(area: "Pohjois-Savo", on: try CalendarDate(iso: "2019-03-01")).tariff.version == "savo-2019-2")

        let issued = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-03", issuedBy: "ely")
        #expect(issued.document.contains(#""tariffVersion":"savo-2019-2""#) && issued.amount == Money.format(versioned.total))
        // Corrected: the same area and day again. March's issued invoice stays; April corrects it.
        let corrected = try await replica.setTariff(area: "MK11", validFrom: "2019-03-01",
                                                    document: try tariffDocument(version: "savo-2019-3", weights: ["1": "0.9", "2": "1.5", "3": "1.2"]))
        #expect(try await replica.tariffSchedule().versions.map(\.tariff.version) == ["savo-2019-3"])
        let recomputed = try await replica.capitationInvoice(providerID: p1, month: march)
        #expect(recomputed == (try InvoiceCalculator.capitation(try await replica.invoiceFacts(providerID: p1), month: march, tariff: corrected.tariff)))
        let april = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-04", issuedBy: "ely")
        #expect(april.document.contains(#""recomputed":"\#(Money.format(recomputed.total))""#))
        #expect(april.document.contains(#""settled":"\#(issued.amount)""#))
        #expect(try await replica.issuedInvoice(issued.number).document == issued.document)
    }

    @Test func aTariffThatIsNotWholeIsRefusedNamingItsField() async throws {
        do {
            _ = try await replica.setTariff(area: "MK11", validFrom: "2019-03-01", document: try tariffDocument(version: "x", weights: ["1": "0.9", "2": "1.0"]))
            Issue.record("a tariff without group 3 was set")
        } catch let error as KasvuError {
            #expect(error.kind == .validationFailed && error.fieldErrors.map(\.field) == ["tariff.capitation.weights"])
        }
        do {
            _ = try await replica.setTariff(area: "Atlantis", validFrom: "2019-13-01", document: Data("{".utf8))
            Issue.record("set")
        } catch let error as KasvuError {
            #expect(Set(error.fieldErrors.map(\.field)) == ["pilotArea", "validFrom", "tariff"])
        }
        #expect(try await replica.tariffSchedule().versions.isEmpty)
    }
}

extension InvoiceIntegrationTests {
    /// A rate agreed later prices the months after it, not the ones invoiced before: the
    /// correction of an earlier invoice keeps the terms it was issued with.
    @Test func aNewRateIsNoCorrectionOfTheMonthsInvoicedBefore() async throws {
        let p1 = ids["p1"]!
        let march = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-03", issuedBy: "ely")
        _ = try await replica.update(.provider, id: p1, set: ["capitationBase": .string("250.00")])
        let april = try await replica.issueInvoice(providerID: p1, kind: .capitation, billed: "2019-04", issuedBy: "ely")
        #expect(april.total == april.amount && !april.document.contains(march.number))
        #expect(april.document.contains(#""capitationBase":"250.00""#))
        #expect(try await replica.capitationInvoice(providerID: p1, month: try YearMonth(iso: "2019-03")).total > Decimal(string: march.amount)!)
    }
}
