/// The dashboard's two languages. Finnish first: the central office works in Finnish.
enum Language: String, Sendable, CaseIterable {
    case fi, en

    /// From `?lang=`, then the `kasvu_lang` cookie, then the browser's first preference.
    static func choose(query: String?, cookie: String?, acceptLanguage: String?) -> Language {
        if let language = query.flatMap(Language.init(rawValue:)) ?? cookie.flatMap(Language.init(rawValue:)) { return language }
        let first = acceptLanguage?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return first.hasPrefix("en") ? .en : .fi
    }

    func text(_ key: String) -> String {
        guard let pair = Labels.texts[key] else { return key }
        return self == .fi ? pair.0 : pair.1
    }

    /// Every label in this language, for the templates (`{{labels.key}}`).
    var labels: [String: String] { Labels.texts.mapValues { self == .fi ? $0.0 : $0.1 } }
}

enum Labels {
    static let texts: [String: (String, String)] = [
        "app": ("Kasvu – keskusvirasto", "Kasvu – central office"),
        "nav": ("Sivut", "Pages"),
        "caseload": ("Asiakasmäärät", "Caseload"),
        "funnel": ("Ohjaukset", "Referral funnel"),
        "outcomes": ("Tulokset", "Outcomes"),
        "invoices": ("Laskut", "Invoices"),
        "replicas": ("Replikat", "Replicas"),
        "conflicts": ("Ristiriidat ja kaksoiskappaleet", "Conflicts and duplicates"),
        "signIn": ("Kirjaudu sisään", "Sign in"),
        "signOut": ("Kirjaudu ulos", "Sign out"),
        "token": ("Keskusviraston replikan tunniste (token)", "The central office replica's token"),
        "tokenHelp": ("Tunniste, jonka kasvu central add-replica --role admin tulosti.",
                      "The token kasvu central add-replica --role admin printed."),
        "signInFailed": ("Tunniste on tuntematon, peruttu tai ei keskusviraston.", "The token is unknown, revoked or not the central office's."),
        "tooMany": ("Liian monta epäonnistunutta yritystä; yritä hetken kuluttua uudelleen.", "Too many failed attempts; try again shortly."),
        "formExpired": ("Lomake vanheni; yritä uudelleen.", "The form expired; try again."),
        "downloadCSV": ("Lataa CSV", "Download CSV"),
        "language": ("In English", "Suomeksi"),
        "signedInAs": ("Kirjautunut", "Signed in as"),
        "noRows": ("Ei rivejä.", "No rows."),
        "chart": ("Kaavio", "Chart"),
        "sortBy": ("Lajittele", "Sort by"),
        // Caseload
        "caseloadTable": ("Palveluntuottajien asiakasmäärät suhteessa enimmäismäärään", "Caseload per provider against its cap"),
        "caseloadChart": ("Aktiiviset ohjaukset / enimmäismäärä", "Active referrals / cap"),
        "waitlist": ("Jonossa olevat ohjaukset", "Waitlisted referrals"),
        "provider": ("Palveluntuottaja", "Provider"),
        "area": ("Pilottialue", "Pilot area"),
        "cap": ("Enimmäismäärä", "Cap"),
        "active": ("Aktiiviset", "Active"),
        "pending": ("Odottavat", "Pending"),
        "waitlisted": ("Jonossa", "Waitlisted"),
        "reserved": ("Varattu toimistoille", "Reserved for offices"),
        "free": ("Vapaana", "Free"),
        "group1": ("Ryhmä 1", "Group 1"),
        "group2": ("Ryhmä 2", "Group 2"),
        "group3": ("Ryhmä 3", "Group 3"),
        "referral": ("Ohjaus", "Referral"),
        "madeOn": ("Tehty", "Made on"),
        "riskGroup": ("Riskiryhmä", "Risk group"),
        "overCap": ("Enimmäismäärä täynnä", "Cap reached"),
        // Funnel
        "funnelTable": ("Ohjaukset alueittain ja kuukausittain, tila nyt", "Referrals per area and month made, by state now"),
        "funnelChart": ("Ohjaukset tiloittain", "Referrals by state"),
        "endReasons": ("Päättyneet syyn mukaan", "Ended, by reason"),
        "month": ("Kuukausi", "Month"),
        "made": ("Tehty", "Made"),
        "rejected": ("Hylätyt", "Rejected"),
        "cancelled": ("Perutut", "Cancelled"),
        "ended": ("Päättyneet", "Ended"),
        "reason": ("Syy", "Reason"),
        "count": ("Määrä", "Count"),
        // Outcomes
        "outcomesTable": ("Tulokset alueittain ja riskiryhmittäin", "Outcomes per area and risk group"),
        "outcomesChart": ("Osuus asiakkaista, joilla työtunteja", "Share of clients with hours worked"),
        "clients": ("Asiakkaat", "Clients"),
        "clientsWithHours": ("Työtunteja", "With hours"),
        "shareWithHours": ("Osuus", "Share"),
        "totalHours": ("Tunnit yhteensä", "Total hours"),
        "fees": ("Tulospalkkiot €", "Outcome fees €"),
        // Invoices
        "invoicesTable": ("Annetut laskut", "Issued invoices"),
        "invoicesChart": ("Laskutettu palveluntuottajittain €", "Invoiced per provider €"),
        "number": ("Numero", "Number"),
        "kind": ("Laji", "Kind"),
        "billed": ("Kausi", "Month or period"),
        "issuedAt": ("Annettu", "Issued"),
        "issuedBy": ("Antaja", "Issued by"),
        "amount": ("Summa €", "Amount €"),
        "total": ("Yhteensä €", "Total €"),
        "invoice": ("Lasku", "Invoice"),
        "lines": ("Rivit", "Lines"),
        "adjustments": ("Bonukset ja sanktiot", "Bonuses and sanctions"),
        "corrections": ("Oikaisut aiempiin laskuihin", "Corrections to earlier invoices"),
        "client": ("Asiakas", "Client"),
        "detail": ("Peruste", "Detail"),
        "subtotal": ("Välisumma €", "Subtotal €"),
        "settled": ("Laskutettu €", "Settled €"),
        "recomputed": ("Uudelleen laskettu €", "Recomputed €"),
        "tariffVersion": ("Hinnaston versio", "Tariff version"),
        "businessId": ("Y-tunnus", "Business ID"),
        "printHint": ("Tulosta selaimen tulostustoiminnolla; sivu on muotoiltu paperille.", "Print with the browser's print command; the page is laid out for paper."),
        "capitation": ("Kuukausikorvaus", "Capitation"),
        // Replicas
        "replicasTable": ("Replikoiden synkronointi, vanhin ensin", "Replica syncing, stalest first"),
        "replicasChart": ("Päiviä viimeisestä synkronoinnista", "Days since the last sync"),
        "replica": ("Replika", "Replica"),
        "role": ("Rooli", "Role"),
        "lastSyncAt": ("Viimeksi synkronoitu", "Last sync"),
        "daysSinceSync": ("Päiviä", "Days"),
        "lastFailureAt": ("Viimeisin virhe", "Last failure"),
        "lastErrorKind": ("Virheen laji", "Error kind"),
        "version": ("Versio", "Version"),
        "schemaVersion": ("Skeema", "Schema"),
        "pendingChanges": ("Lähettämättä", "Pending"),
        "recordsInScope": ("Tietueita", "Records in scope"),
        "stale": ("Vanhentunut", "Stale"),
        "staleWarning": ("replikaa ei ole synkronoitu vähintään %d päivään:", "replicas have not synced for %d days or more:"),
        "position": ("Sija jonossa", "Position"),
        "heldBack": ("Pidätetyt tuntiilmoitukset", "Held-back hours reports"),
        "audit": ("Tarkastus", "Audit"),
        "never": ("ei koskaan", "never"),
        // Conflicts
        "conflictsTable": ("Avoimet ristiriidat ja mahdolliset kaksoiskappaleet", "Open conflicts and possible duplicates"),
        "conflictsChart": ("Ristiriidat tietuelajeittain", "Conflicts per entity"),
        "entity": ("Tietuelaji", "Entity"),
        "record": ("Tietue", "Record"),
        "field": ("Kenttä", "Field"),
        "values": ("Arvoja", "Values"),
        "duplicateOf": ("Kaksoiskappale", "Duplicate of"),
        "conflictKind": ("Laji", "Kind"),
        "notFound": ("Ei löydy.", "Not found."),
        "unavailable": ("Kojelauta ei saanut tietoja keskusvarastosta; yritä uudelleen.", "The dashboard could not read the central store; try again."),
    ]
}
