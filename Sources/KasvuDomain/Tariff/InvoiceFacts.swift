/// What the invoice calculation needs about ONE provider, gathered from the replica's records:
/// the provider's bid, its referrals, and its own contacts, hours reports and events.
/// Plain values; the order of the arrays does not matter (the calculator sorts).
///
/// ```swift
/// let facts = InvoiceFacts(
///     provider: .init(id: "p1", capitationBase: "200.00", hourlyRate: "10.00"),
///     referrals: [.init(id: "r1", clientId: "c1", riskGroup: 1, state: "active", start: try CalendarDate(iso: "2019-01-10"))],
///     contacts: [.init(clientId: "c1", date: try CalendarDate(iso: "2019-03-05"))])
/// ```
public struct InvoiceFacts: Sendable, Hashable {
    public struct Provider: Sendable, Hashable {
        public var id: String
        /// Monthly capitation base bid by the provider, decimal text (`"200.00"`).
        public var capitationBase: String
        /// Hourly rate bid by the provider, decimal text (`"10.00"`).
        public var hourlyRate: String
        /// The pilot area's region code, whose tariff prices its invoices (``TariffSchedule``).
        public var pilotArea: String

        public init(id: String, capitationBase: String, hourlyRate: String, pilotArea: String = "") {
            self.id = id
            self.capitationBase = capitationBase
            self.hourlyRate = hourlyRate
            self.pilotArea = pilotArea
        }
    }

    /// A referral of a client to this provider.
    public struct Referral: Sendable, Hashable {
        public var id: String
        public var clientId: String
        /// The confirmed risk group (1...3) when the referral was made.
        public var riskGroup: Int
        /// The `ReferralState` raw value; only `active` and `ended` earn capitation.
        public var state: String
        public var start: CalendarDate
        /// The last active day (inclusive); required for `ended`.
        public var end: CalendarDate?
        /// Why it ended (`provider_switched` ends the outcome window at once).
        public var endReason: String?

        public init(id: String, clientId: String, riskGroup: Int, state: String, start: CalendarDate, end: CalendarDate? = nil,
                    endReason: String? = nil) {
            self.id = id
            self.clientId = clientId
            self.riskGroup = riskGroup
            self.state = state
            self.start = start
            self.end = end
            self.endReason = endReason
        }
    }

    /// A contact of the provider with a client (any kind).
    public struct Contact: Sendable, Hashable {
        public var clientId: String
        public var date: CalendarDate

        public init(clientId: String, date: CalendarDate) {
            self.clientId = clientId
            self.date = date
        }
    }

    /// An hours-of-employment report by the provider for a client and month.
    public struct Hours: Sendable, Hashable {
        public var id: String
        public var clientId: String
        public var month: YearMonth
        /// Decimal text as reported (`"120.5"`, `"80"`); printed unchanged on the invoice.
        public var hours: String

        public init(id: String, clientId: String, month: YearMonth, hours: String) {
            self.id = id
            self.clientId = clientId
            self.month = month
            self.hours = hours
        }
    }

    /// A complementary-indicator event recorded by the provider (`education_started`, …).
    public struct Event: Sendable, Hashable {
        public var clientId: String
        public var date: CalendarDate
        public var kind: String
        /// The client's home municipality, for regional bonuses (``Tariff/BonusItem``).
        public var municipality: String?

        public init(clientId: String, date: CalendarDate, kind: String, municipality: String? = nil) {
            self.clientId = clientId
            self.date = date
            self.kind = kind
            self.municipality = municipality
        }
    }

    public var provider: Provider
    public var referrals: [Referral]
    public var contacts: [Contact]
    public var hours: [Hours]
    public var events: [Event]

    public init(provider: Provider, referrals: [Referral] = [], contacts: [Contact] = [], hours: [Hours] = [], events: [Event] = []) {
        self.provider = provider
        self.referrals = referrals
        self.contacts = contacts
        self.hours = hours
        self.events = events
    }
}

/// The result of a register audit of one provider's outcome period.
///
/// ```swift
/// AuditFindings(seed: "p1-T1-2019", rate: "0.4", verifiedHours: ["h5": "140"])
/// ```
public struct AuditFindings: Sendable, Hashable {
    /// Seed of the sampling order (see `AuditSampler`).
    public var seed: String
    /// Share of the period's hours reports to sample, decimal text in 0...1.
    public var rate: String
    /// Hours report id → hours verified against the registers, decimal text.
    public var verifiedHours: [String: String]
    /// Hours report id → the reported hours the audit checked, where a correction reported
    /// since has changed them: the finding is about the claim that was audited.
    public var auditedHours: [String: String]

    public init(seed: String, rate: String, verifiedHours: [String: String], auditedHours: [String: String] = [:]) {
        self.seed = seed
        self.rate = rate
        self.verifiedHours = verifiedHours
        self.auditedHours = auditedHours
    }
}
