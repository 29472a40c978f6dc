"""The Kasvu demo: a central server and two replicas, driven through the real binaries.

Usage: python3 Tools/demo.py PATH_TO_KASVU [--postgres]

Starts `kasvu central serve` on a free loopback port with an embedded SQLite store (with
--postgres: two servers on one PostgreSQL database, in a throw-away cluster), and
replicas for the central office, a TE office and a provider, each with its scope. The central
office contracts providers; the office registers, profiles and refers a client; the central
store confirms the referral; the provider sees only its client; the office and the central
office edit the same client offline (one field in common, one not), sync, see the clean merge
and the conflict, resolve it; the provider records hours; the central office computes invoices;
with capacity leases on, the office makes a referral active at once, offline, under its lease.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pgcluster

kasvu = sys.argv[1]
on_postgres = "--postgres" in sys.argv[2:]
workdir = tempfile.mkdtemp(prefix="kasvu-demo-")


def step(title):
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}")


def show(value):
    print(json.dumps(value, indent=2, ensure_ascii=False))


class Replica:
    """A `kasvu rpc` process: JSON-RPC 2.0 over its stdin and stdout, newline framing."""

    def __init__(self, name, role, central_url, token):
        self.name = name
        self.db = f"{workdir}/{name}.sqlite"
        subprocess.run([kasvu, "init", "--db", self.db, "--replica-id", name, "--role", role,
                        "--central", central_url, "--token", token], check=True, capture_output=True)
        self.process = subprocess.Popen([kasvu, "rpc", "--db", self.db, "--user", f"case-worker@{name}"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.next_id = 1

    def call(self, method, **params):
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.next_id += 1
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        progress = 0
        while True:
            message = json.loads(self.process.stdout.readline())
            if message.get("method") == "$/progress":
                progress += 1
                continue
            if "error" in message:
                return {"error": message["error"]}
            if method == "sync/run":
                message["result"]["progressNotifications"] = progress
            return message["result"]

    def sync(self):
        result = self.call("sync/run")
        print(f"{self.name}: sync/run pushed {result['pushed']}, pulled {result['pulled']} "
              f"in {result['roundTrips']} round trip(s), {result['progressNotifications']} $/progress notifications")

    def close(self):
        self.process.stdin.close()
        return self.process.wait()


centrals = []
replicas = []
stop_postgres = None


def serve(store_arguments):
    process = subprocess.Popen([kasvu, "central", "serve", *store_arguments, "--listen", "127.0.0.1:0", "--log-level", "warning"],
                               stdout=subprocess.PIPE, text=True)
    centrals.append(process)
    url = process.stdout.readline().strip().split(" ")[-1]
    print(f"kasvu central serve is {url.replace('http://', 'listening on ')}")
    return url


def register(name, role, *scope):
    added = subprocess.run([kasvu, "central", "add-replica", *store, "--id", name, "--role", role, *scope],
                           check=True, capture_output=True, text=True)
    token = added.stdout.strip().splitlines()[-1]
    print(f"registered {name} ({role}{', ' + ' '.join(scope) if scope else ''}); token {token[:len(name) + 9]}… "
          "(shown once, stored hashed)")
    return token


try:
    if on_postgres:
        step("Two central servers on one PostgreSQL database (a throw-away cluster)")
        postgres_url, stop_postgres = pgcluster.start(workdir)
        store = ["--store", postgres_url]
        # The central office syncs through one server, the TE office and the provider through the other.
        url, other_url = serve(store), serve(store)
    else:
        step("Central server on embedded SQLite")
        store = ["--db", f"{workdir}/central.sqlite"]
        url = other_url = serve(store)
    admin = Replica("ely-central-office", "admin", url, register("ely-central-office", "admin"))
    office = Replica("siilinjarvi-office", "office", other_url,
                     register("siilinjarvi-office", "office", "--municipalities", "749,402"))
    replicas = [admin, office]

    step("The central office contracts two providers (only it may)")
    p1 = admin.call("provider/create", name="Työpolku Oy", businessId="2077474-0", pilotArea="Pohjois-Savo",
                    cap=700, capitationBase="200.00", hourlyRate="10.00")
    admin.call("provider/create", name="Uraverkko ry", businessId="0112038-9", pilotArea="Pohjois-Savo",
               cap=700, capitationBase="185.50", hourlyRate="12.00")
    print("terms outside the tariff's range →",
          admin.call("provider/create", name="Halpa Oy", businessId="1572860-0", pilotArea="Pohjois-Savo", cap=10,
                     capitationBase="99.00", hourlyRate="10.00")["error"]["message"])
    print("the office may not →", office.call("provider/create", name="X", businessId="0737546-2", pilotArea="Pohjois-Savo",
                                              cap=1, capitationBase="200.00", hourlyRate="10.00")["error"]["data"]["kind"])
    admin.sync()

    step("The office registers clients, profiles one and refers her (offline until it syncs)")
    office.sync()
    aino = office.call("client/create", hetu="131052-308T", firstName="Aino", lastName="Virtanen",
                       municipality="749", language="fi", monthsUnemployed=14, educationLevel="basic",
                       monthsEmployedLast24=3, languageSkills="good")
    office.call("client/create", hetu="311299W222C", firstName="Eero", lastName="Heikkinen", municipality="402")
    print("client/create with a wrong check character →")
    show(office.call("client/create", hetu="131052-308U", lastName="Virhe", municipality="749"))
    proposal = office.call("client/profile", id=aino["id"])
    print(f"profiling proposes group {proposal['proposedGroup']} (score {proposal['score']}, model {proposal['modelVersion']}):")
    for part in proposal["explanation"]:
        print(f"  {part['factor']:>22} = {str(part['value']):<10} contributes {part['contribution']}")
    print("overriding without a reason →", office.call("client/confirmRiskGroup", id=aino["id"], group=2)["error"]["message"])
    confirmed = office.call("client/confirmRiskGroup", id=aino["id"], group=proposal["proposedGroup"])
    print(f"confirmed group {confirmed['riskGroup']} by {confirmed['riskGroupConfirmedBy']}")
    referral = office.call("referral/create", clientId=aino["id"], providerId=p1["id"], chosenBy="client")
    print(f"referral of Aino Virtanen to Työpolku Oy: {referral['state']} (the central office confirms it against the cap)")
    print(f"office replica/info: {office.call('replica/info')['pendingChanges']} records waiting to sync")

    step("Sync: office → central; the central store confirms the referral")
    office.sync()
    referral = office.call("referral/get", id=referral["id"])
    print(f"the referral is now {referral['state']} since {referral['startDate']} (decided by the central store)")

    step("The provider's replica sees only its own client, without profiling data")
    provider = Replica("tyopolku-provider", "provider", other_url,
                       register("tyopolku-provider", "provider", "--provider", p1["id"]))
    replicas.append(provider)
    provider.sync()
    seen = provider.call("client/list")["items"]
    print(f"the provider holds {len(seen)} client(s): {[c['lastName'] for c in seen]}; "
          f"monthsUnemployed={seen[0]['monthsUnemployed']}, riskGroup={seen[0]['riskGroup']}")
    print("it may not edit clients →",
          provider.call("client/update", id=aino["id"], set={"phone": "050 1"})["error"]["data"]["kind"])

    step("The office and the central office both edit Aino offline: phone on both sides, language and email apart")
    admin.sync()
    office.call("client/update", id=aino["id"], set={"phone": "040 111 1111", "language": "sv"})
    admin.call("client/update", id=aino["id"], set={"phone": "050 222 2222", "email": "aino.virtanen@example.fi"})

    step("Sync both ways")
    office.sync()
    admin.sync()
    office.sync()
    merged = office.call("client/get", id=aino["id"])
    print(f"clean merge of different fields: language={merged['language']}, email={merged['email']}")
    print("the common field is a conflict, shown with every value (the same winner on every replica):")
    show(merged["conflicts"])

    step("The office resolves it (an ordinary write), then everyone syncs")
    resolved = office.call("conflict/resolve", entity="client", id=aino["id"], field="phone", value="040 333 3333")
    print(f"resolved phone: {resolved['phone']}")
    for r in [office, admin, provider]:
        r.sync()
    views = [r.call("client/get", id=aino["id"]) for r in [office, admin]]
    for r, view in zip([office, admin], views):
        print(f"{r.name}: phone={view['phone']}, language={view['language']}, email={view['email']}, "
              f"conflicts={len(view.get('conflicts', []))}, pending={r.call('replica/info')['pendingChanges']}")
    print("office and central office equal:", views[0] == views[1])
    print("provider sees phone", provider.call("client/get", id=aino["id"])["phone"])

    step("The provider records its service; the central office computes the invoices")
    import datetime
    today = datetime.date.today()
    month = today.strftime("%Y-%m")
    period = f"{today.year}-T{(today.month - 1) // 4 + 1}"
    provider.call("contact/record", clientId=aino["id"], providerId=p1["id"], date=today.isoformat(), kind="meeting",
                  note="Job search plan")
    provider.call("hours/report", clientId=aino["id"], providerId=p1["id"], month=month, hours="37.5",
                  employerBusinessId="1572860-0")
    provider.sync()
    admin.sync()
    capitation = admin.call("invoice/compute", providerId=p1["id"], kind="capitation", month=month)
    print(f"capitation invoice {month} for Työpolku Oy:")
    show(capitation)
    outcome = admin.call("invoice/compute", providerId=p1["id"], kind="outcome", period=period)
    print(f"outcome invoice {period}: {len(outcome['lines'])} line(s), total {outcome['total']} €")
    print("caseload:", [(row["name"], row["active"], row["cap"]) for row in admin.call("report/caseload")["items"]])

    step("Every kind of client, search and the journey")
    company = office.call("client/create", clientType="company", businessId="0737546-2", name="Siilinjärven Kone ja Kuljetus Oy",
                          contactPerson="Maija Mäkelä", municipality="749")
    print(f"a company client: {company['name']} ({company['businessId']}), contact {company['contactPerson']}")
    print("profiling a company →", office.call("client/profile", id=company["id"])["error"]["message"])
    print("a company with a henkilötunnus →", office.call("client/create", clientType="company", businessId="0737546-2",
                                                           name="X Oy", hetu="131052-308T", municipality="749")["error"]["message"])
    office.call("client/create", hetu="010190-123" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[10190123 % 31], firstName="Eeva",
                lastName="Öhman", municipality="749")
    office.sync()
    for text in ["virtanen", "VIRT", "O\u0308hman", "kuljetus", "131052-308t"]:
        found = office.call("client/search", text=text)["items"]
        print(f"client/search {text!r:>14} → {[c['lastName'] or c['name'] for c in found]}")
    journey = office.call("client/journey", id=aino["id"])
    print("Aino Virtanen's journey on the office laptop (oldest first):")
    for s in journey["steps"]:
        who = s["by"]["user"] or ("this replica" if s["by"]["thisReplica"] else "replica " + s["by"]["actor"][:8])
        print(f"  {s['date']}  {s['event']:<22} {who}")

    step("Pirkanmaa assesses its hardest-to-employ before referring them")
    pirkanmaa = admin.call("provider/create", name="Polku Pirkanmaa Oy", businessId="1572860-0", pilotArea="Pirkanmaa",
                           cap=700, capitationBase="200.00", hourlyRate="10.00")
    admin.sync()
    tampere = Replica("tampere-office", "office", url, register("tampere-office", "office", "--municipalities", "837"))
    replicas.append(tampere)
    tampere.sync()
    eero = tampere.call("client/create", hetu="010190-123M", firstName="Eero", lastName="Mäkinen", municipality="837",
                        monthsUnemployed=40, educationLevel="none", monthsEmployedLast24=0, languageSkills="basic")
    tampere.call("client/profile", id=eero["id"])
    tampere.call("client/confirmRiskGroup", id=eero["id"], group=3, reason="long unemployment, health limits")
    print("referral/create before any assessment →")
    show(tampere.call("referral/create", clientId=eero["id"], providerId=pirkanmaa["id"], chosenBy="client")["error"])
    assessment = tampere.call("assessment/create", clientId=eero["id"], date=today.isoformat(),
                              participants=[{"role": "te_office", "name": "Kaisa Koski"}, {"role": "health", "name": "Liisa Lehto"},
                                            {"role": "kela", "name": "Pekka Aho"}],
                              needs=["health", "employment"], outcome="direct_referral",
                              recommendedServices=["work ability coordinator"], notes="Back pain limits physical work.")
    done = tampere.call("assessment/complete", id=assessment["id"])
    print(f"assessment {done['state']} by {done['completedBy']}: needs {done['needs']}, outcome {done['outcome']}")
    referral = tampere.call("referral/create", clientId=eero["id"], providerId=pirkanmaa["id"], chosenBy="client")
    print(f"referral/create after it → {referral['state']}")
    tampere.sync()
    print(f"after sync the referral is {tampere.call('referral/get', id=referral['id'])['state']}")
    polku = Replica("polku-provider", "provider", url, register("polku-provider", "provider", "--provider", pirkanmaa["id"]))
    replicas.append(polku)
    polku.sync()
    seen = polku.call("assessment/list")["items"][0]
    print(f"the provider sees the assessment's outcome {seen['outcome']} and needs {seen['needs']}; "
          f"notes={seen['notes']}, participants={seen['participants']}")
    print("Eero Mäkinen's journey on the Tampere laptop:")
    for s in tampere.call("client/journey", id=eero["id"])["steps"]:
        details = ", ".join(f"{k}={v}" for k, v in s["details"].items() if k in ("outcome", "needs", "riskGroup", "providerName"))
        print(f"  {s['date']}  {s['event']:<22} {details}")

    step("A service manager finds a client services the municipality and Kela already offer")
    manager = admin.call("provider/create", name="Ohjaamo Palvelumanagerit Oy", businessId="0737546-2", pilotArea="Pohjois-Savo",
                         cap=50, capitationBase="250.00", hourlyRate="10.00", contractKind="service_manager")
    activity = admin.call("service/create", name="Kuntouttava työtoiminta", organiserKind="municipality", organiserName="Siilinjärven kunta",
                          category="rehabilitative_work_activity", target={"clientTypes": ["person"], "riskGroups": [3]},
                          municipalities=["749"], validFrom="2026-01-01", unitCostPerMonth="400.00")
    admin.call("service/create", name="Nuorten kuntoutuskurssi", organiserKind="kela", organiserName="Kela", category="rehabilitation",
               target={"minAge": 18, "maxAge": 29}, municipalities=["749", "402"], validFrom="2026-01-01", unitCostPerMonth="850.00")
    admin.sync()
    office.sync()
    print("the catalogue on the office laptop:",
          [(s["name"], s["category"]) for s in office.call("service/list")["items"]])
    mikko = office.call("client/create", hetu="150385-456R", firstName="Mikko", lastName="Laitinen", municipality="749",
                        monthsUnemployed=60, educationLevel="none", monthsEmployedLast24=0, languageSkills="native")
    office.call("client/profile", id=mikko["id"])
    office.call("client/confirmRiskGroup", id=mikko["id"], group=3, reason="long unemployment")
    office.call("referral/create", clientId=mikko["id"], providerId=manager["id"], chosenBy="client")
    office.sync()
    ohjaamo = Replica("ohjaamo-manager", "provider", url, register("ohjaamo-manager", "provider", "--provider", manager["id"]))
    replicas.append(ohjaamo)
    ohjaamo.sync()
    print("the Kela course does not fit him →",
          ohjaamo.call("enrolment/create", clientId=mikko["id"], serviceId=[s for s in ohjaamo.call("service/list")["items"]
                                                                           if s["category"] == "rehabilitation"][0]["id"],
                       startDate=today.isoformat(), providerId=manager["id"])["error"]["message"])
    enrolment = ohjaamo.call("enrolment/create", clientId=mikko["id"], serviceId=activity["id"], startDate=today.isoformat(),
                             providerId=manager["id"])
    ohjaamo.call("enrolment/transition", id=enrolment["id"], to="started")
    ohjaamo.sync()
    office.sync()
    print(f"the office sees the enrolment: {office.call('enrolment/get', id=enrolment['id'])['state']}")
    print("Työpolku Oy (a pilot provider) may not enrol →",
          provider.call("enrolment/create", clientId=aino["id"], serviceId=activity["id"], startDate=today.isoformat(),
                        providerId=p1["id"])["error"]["data"]["kind"])
    kela = admin.call("service/create", name="Työkykykurssi", organiserKind="kela", organiserName="Kela",
                      category="rehabilitative_work_activity", municipalities=["749"], validFrom="2026-01-01", unitCostPerMonth="600.00")
    admin.sync()
    office.sync()
    second = office.call("enrolment/create", clientId=mikko["id"], serviceId=kela["id"], startDate=today.isoformat())
    office.call("enrolment/transition", id=second["id"], to="started")
    overlaps = office.call("report/overlaps")
    for row in overlaps["clients"]:
        print(f"overlap: client {row['clientId'][:8]}… in two {row['category']} services from {row['from']}")
    for row in overlaps["catalogue"]:
        print(f"catalogue overlap in {row['category']}: {' and '.join(row['organisers'])} in {row['municipalities']}, "
              f"together {row['combinedMonthlyCost']} € a month: the savings potential")
    office.sync()
    admin.sync()
    term = f"{today.year}-T{(today.month - 1) // 4 + 1}"
    admin.call("baseline/set", area="Pohjois-Savo", period=term, costPerClient="2500.00")
    for row in admin.call("report/costs", period=term)["areas"]:
        print(f"costs {term} in {row['area']}: {row['costPerClient']} € a client against a baseline of {row['baseline']} €, "
              f"savings {row['savingsPercent']} %, 10 % goal met: {row['goalMet']}")

    step("Offline capacity leases: the office promises a place with no network")
    subprocess.run([kasvu, "central", "leases", *store, "on"], check=True, capture_output=True)
    office.sync()  # the central store grants the office a share of each provider's free places
    names = {p["id"]: p["name"] for p in office.call("provider/list")["items"]}
    for lease in office.call("replica/info")["leases"]:
        print(f"office lease: {lease['places']} place(s) of {names.get(lease['providerId'], lease['providerId'])} until {lease['expiresAt'][:10]}")
    helmi = office.call("client/create", hetu="020391-234R", firstName="Helmi", lastName="Korhonen", municipality="749",
                        monthsUnemployed=8, educationLevel="vocational", monthsEmployedLast24=6, languageSkills="native")
    office.call("client/profile", id=helmi["id"])
    office.call("client/confirmRiskGroup", id=helmi["id"], group=1, reason="recent work history")
    leased = office.call("referral/create", clientId=helmi["id"], providerId=p1["id"], chosenBy="client")
    print(f"in Helmi's kitchen, offline: referral to Työpolku Oy is {leased['state']} from {leased['startDate']} "
          f"(lease {leased['leaseId'][:8]}…): she can be told when she starts")
    office.sync()
    admin.sync()
    print(f"the central store honours it: {admin.call('referral/get', id=leased['id'])['state']}")
    row = [r for r in admin.call("report/caseload")["items"] if r["providerId"] == p1["id"]][0]
    print(f"Työpolku Oy: cap {row['cap']}, active {row['active']}, reserved for offices {row['reserved']}, free {row['free']}")
    for r in replicas:
        r.close()
    replicas = []
finally:
    for r in replicas:
        r.process.kill()
    for process in centrals:
        process.terminate()
        process.wait()
    if stop_postgres is not None:
        stop_postgres()
    shutil.rmtree(workdir, ignore_errors=True)
