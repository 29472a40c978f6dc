import json
S = lambda t, **kw: dict(type=t, **kw)
ref = lambda n: {"$ref": f"#/components/schemas/{n}"}
uuid = S("string", format="uuid", description="UUID, lowercase canonical form")
date = S("string", pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date YYYY-MM-DD")
dec = lambda d: S("string", pattern=r"^\d+(\.\d+)?$", description=d)
nullable = lambda s: {"oneOf": [s, {"type": "null"}]}

entities = {
 "Client": {
   "clientType": S("string", enum=["person","company","community"], default="person"),
   "hetu": S("string", description="henkilötunnus, required for a person; validated including the 2023 century signs; cannot change after create"),
   "businessId": S("string", description="Y-tunnus, required for company and community clients"),
   "firstName": S("string"), "lastName": S("string"),
   "municipality": S("string", pattern=r"^\d{3}$", description="kuntanumero from the shipped municipality list, or 198/199/200"),
   "phone": S("string"), "email": S("string", format="email"),
   "language": S("string", pattern="^[a-z]{2}$", description="ISO 639-1"),
   "riskGroup": nullable(S("integer", minimum=1, maximum=3, description="confirmed risk group; set by client/confirmRiskGroup only")),
   "monthsUnemployed": S("integer", minimum=0, maximum=600), "educationLevel": S("string", enum=["none","basic","vocational","higher"]),
   "monthsEmployedLast24": S("integer", minimum=0, maximum=24), "languageSkills": S("string", enum=["native","good","basic","none"]),
   "riskGroupProposal": nullable(S("integer")), "riskGroupScore": nullable(S("string")), "profilingModelVersion": nullable(S("string")),
   "riskGroupConfirmedBy": nullable(S("string")), "riskGroupConfirmedAt": nullable(S("string")), "riskGroupReason": nullable(S("string")),
   "status": S("string", enum=["registered","assessment","referred","closed"], default="registered"),
 },
 "Provider": {
   "name": S("string"), "businessId": S("string", description="Y-tunnus"), "pilotArea": S("string"),
   "cap": S("integer", minimum=0), "capitationBase": dec("monthly capitation base, euros"), "hourlyRate": dec("outcome fee per hour, euros"),
 },
 "Referral": {
   "clientId": uuid, "providerId": uuid, "chosenBy": S("string", enum=["client","assigned"]),
   "state": S("string", enum=["pending","active","waitlisted","rejected","cancelled","ended"], description="set by the system; change with referral/transition"),
   "startDate": nullable(date), "endDate": nullable(date), "endReason": nullable(S("string")),
   "riskGroup": nullable(S("integer", description="the client's confirmed group when the referral was made")),
 },
 "Contact": {"clientId": uuid, "providerId": uuid, "date": date, "kind": S("string", enum=["meeting","phone","online","service"]), "note": S("string")},
 "Hours": {"clientId": uuid, "providerId": uuid, "month": S("string", pattern=r"^\d{4}-\d{2}$"), "hours": dec("hours worked in the month, at most 2 decimals"), "employerBusinessId": S("string", description="employer's Y-tunnus"),
   "verifiedHours": nullable(S("string", description="register finding, set by audit/record")), "auditedBy": nullable(S("string")), "auditedAt": nullable(S("string"))},
 "Event": {"clientId": uuid, "providerId": uuid, "date": date, "kind": S("string", enum=["education_started","business_started","employed","employment_ended","education_completed"]), "note": S("string")},
}
required_create = {
 "Client": ["lastName","municipality"], "Provider": ["name","businessId","pilotArea","cap","capitationBase","hourlyRate"],
 "Referral": ["clientId","providerId","chosenBy"], "Contact": ["clientId","providerId","date","kind"],
 "Hours": ["clientId","providerId","month","hours"], "Event": ["clientId","providerId","date","kind"],
}
system_fields = {"Hours": ["verifiedHours","auditedBy","auditedAt"], "Client": ["riskGroup","riskGroupProposal","riskGroupScore","profilingModelVersion","riskGroupConfirmedBy","riskGroupConfirmedAt","riskGroupReason"], "Referral": ["state","startDate","endDate","endReason","riskGroup"]}
create_only = {"Client": ["hetu","businessId"], "Provider": ["businessId"], "Referral": ["clientId","providerId","chosenBy"], "Hours": ["clientId","providerId","month"], "Contact": ["clientId","providerId"], "Event": ["clientId","providerId"]}

schemas = {}
for name, fields in entities.items():
    props = {"id": uuid, **fields, "deleted": S("boolean", description="present and true only for a deleted record shown because of a conflict"),
             "conflicts": S("array", items=ref("FieldConflict"), description="present when a field holds several values")}
    schemas[name] = S("object", properties=props, required=["id"])
    writable = {k: v for k, v in fields.items() if k not in system_fields.get(name, [])}
    schemas[name + "Fields"] = S("object", properties=writable, additionalProperties=False)
    schemas[name + "Changes"] = S("object", properties={k: v for k, v in writable.items() if k not in create_only.get(name, [])}, additionalProperties=False)
schemas["ConflictValue"] = S("object", properties={"value": {}, "actor": S("string"), "counter": S("integer"), "hlc": S("integer", description="hybrid logical clock: ms << 16 | logical"), "winner": S("boolean")}, required=["value","actor","counter","hlc","winner"])
schemas["FieldConflict"] = S("object", properties={"field": S("string"), "kind": S("string", enum=["concurrent_values","delete_vs_edit"]), "values": S("array", items=ref("ConflictValue")), "editedFields": S("array", items=S("string"))}, required=["field","kind","values"])
schemas["Conflict"] = {"allOf": [ref("FieldConflict"), S("object", properties={"entity": S("string"), "id": uuid}, required=["entity","id"])]}
schemas["ErrorData"] = S("object", properties={"kind": S("string", description="stable snake_case name"), "errors": S("array", items=S("object", properties={"field": S("string"), "message": S("string")}))})

def page(n): return S("object", properties={"items": S("array", items=ref(n)), "next": nullable(S("string"))}, required=["items","next"])
def p(name, schema, required=False, desc=None):
    d = {"name": name, "schema": schema, "required": required}
    if desc: d["description"] = desc
    return d
def m(name, summary, params, result_name, result_schema, errors=()):
    return {"name": name, "summary": summary, "paramStructure": "by-name", "params": params,
            "result": {"name": result_name, "schema": result_schema}, "errors": [{"$ref": f"#/components/errors/{e}"} for e in errors]}

entity_enum = S("string", enum=["client","provider","referral","contact","hours","event"])
methods = [
 m("rpc.discover", "The OpenRPC catalogue of every method (this document).", [], "openrpc", S("object")),
 m("replica/info", "Identity, role and sync status of the replica.", [], "info", S("object", properties={
   "replicaId": S("string"), "actor": S("string"), "role": S("string", enum=["admin","office","provider"]), "schemaVersion": S("integer"),
   "pendingChanges": S("integer", description="records with local writes not yet acknowledged by the central store"),
   "lastSyncAt": nullable(S("string")), "centralUrl": nullable(S("string"))}, required=["replicaId","actor","role","schemaVersion","pendingChanges","lastSyncAt"])),
]
filter_desc = "equality filters on indexed fields"
indexed = {"client": ["hetu","businessId","lastName","municipality","riskGroup","status"], "provider": ["name","businessId","pilotArea"],
  "referral": ["clientId","providerId","state"], "contact": ["clientId","providerId","date"], "hours": ["clientId","providerId","month"], "event": ["clientId","providerId","date","kind"]}
def list_method(kind, N):
    return m(f"{kind}/list", f"Live {kind} records ordered by id, one page at a time.", [
      p("where", S("object", description=filter_desc + ": " + ", ".join(indexed[kind]))), p("limit", S("integer", minimum=1, maximum=1000, default=100)),
      p("after", S("string", description="the `next` of the previous page"))], "page", page(N), ["validation_failed"])
def get_method(kind, N):
    return m(f"{kind}/get", f"One {kind}; includes `conflicts` when a field has several values.", [p("id", uuid, True)], kind, ref(N), ["not_found"])
for kind, N in [("client","Client"),("provider","Provider")]:
    methods.append(m(f"{kind}/create", f"Register a {kind}. All fields are validated; every problem is reported in data.errors.",
        [p("id", uuid, desc="optional caller-chosen id (idempotent imports)")] + [p(k, v, k in required_create[N]) for k, v in entities[N].items() if k not in system_fields.get(N, [])],
        kind, ref(N), ["validation_failed","already_exists"]))
    methods.append(get_method(kind, N))
    methods.append(m(f"{kind}/update", f"Change some fields of a {kind}.", [p("id", uuid, True), p("set", ref(N + "Changes"), True)], kind, ref(N), ["validation_failed","not_found"]))
    if kind == "client":
        methods.append(m("client/delete", "Delete a client (a synced tombstone; concurrent edits elsewhere surface as a delete_vs_edit conflict).", [p("id", uuid, True)], "result", S("object", properties={"id": uuid, "deleted": S("boolean")}), ["not_found"]))
    methods.append(list_method(kind, N))
methods.append(m("referral/create", "Refer a client (with a confirmed risk group) to a provider; the referral starts pending and the central office confirms it (active or waitlisted) against the provider's cap on sync. Without providerId (chosenBy: assigned) the provider of the client's region with the most free places is assigned, ties broken by provider id. A client has at most one pending or active referral; switch: true closes the open one (ended or cancelled, reason provider_switched) in the same transaction. A provider known to be full answers capacity_exceeded.",
   [p("id", uuid), p("clientId", uuid, True), p("providerId", uuid), p("chosenBy", entities["Referral"]["chosenBy"], True), p("switch", S("boolean", default=False))],
   "referral", ref("Referral"), ["validation_failed","not_found","capacity_exceeded"]))
methods.append(m("client/profile", "Propose a risk group from the client's profiling inputs (monthsUnemployed, educationLevel, monthsEmployedLast24, languageSkills, and age from the henkilötunnus) with the transparent, versioned model; records the proposal. A proposal is not a decision: see client/confirmRiskGroup.",
   [p("id", uuid, True)], "proposal", S("object", properties={"proposedGroup": S("integer", minimum=1, maximum=3), "score": S("string", description="exact decimal"), "modelVersion": S("string"),
     "explanation": S("array", items=S("object", properties={"factor": S("string"), "value": {}, "contribution": S("string")}))}, required=["proposedGroup","score","modelVersion","explanation"]), ["validation_failed","not_found"]))
methods.append(m("client/confirmRiskGroup", "A person confirms the proposed risk group or overrides it (reason required when it differs). Who (kasvu rpc --user), when and the model version are kept. No client gets a group without a confirmation.",
   [p("id", uuid, True), p("group", S("integer", minimum=1, maximum=3), True), p("reason", S("string"))], "client", ref("Client"), ["validation_failed","not_found"]))
methods.append(get_method("referral","Referral"))
methods.append(m("referral/transition", "Move a referral through its state machine: pending → rejected | cancelled; waitlisted → cancelled; active → ended (reason required). pending → active | waitlisted and waitlisted → active are decided by the central office against the provider's cap when it syncs (invalid_transition here).",
   [p("id", uuid, True), p("to", S("string", enum=["pending","active","waitlisted","rejected","cancelled","ended"]), True), p("date", date, desc="effective date; today (Europe/Helsinki) when absent"), p("reason", S("string"), desc="required for ended")],
   "referral", ref("Referral"), ["invalid_transition","validation_failed","not_found"]))
methods.append(list_method("referral","Referral"))
for method, kind, N, summary in [("contact/record","contact","Contact","Record a service contact with a client."), ("event/record","event","Event","Record an outcome event for a client.")]:
    methods.append(m(method, summary, [p("id", uuid)] + [p(k, v, k in required_create[N]) for k, v in entities[N].items()], kind, ref(N), ["validation_failed"]))
methods.append(m("hours/report", "Report the hours a client worked in a month. One record per client, provider and month: a second report corrects the first.",
   [p(k, v, k in required_create["Hours"]) for k, v in entities["Hours"].items() if k not in system_fields["Hours"]], "hours", ref("Hours"), ["validation_failed"]))
for kind, N in [("contact","Contact"),("hours","Hours"),("event","Event")]:
    methods.append(get_method(kind, N)); methods.append(list_method(kind, N))
methods.append(m("conflict/list", "Every multi-valued field (and every delete that missed concurrent edits) in the replica.", [p("entity", entity_enum)], "result", S("object", properties={"items": S("array", items=ref("Conflict"))}, required=["items"])))
methods.append(m("conflict/resolve", "Resolve a conflict by writing one value to the field; the write supersedes every value seen and syncs like any edit. For delete_vs_edit use field `deleted` with true (keep the delete) or false (keep the record).",
   [p("entity", entity_enum, True), p("id", uuid, True), p("field", S("string"), True), p("value", {}, True)], "record", S("object"), ["validation_failed","not_found"]))

rejection = S("object", properties={"entity": S("string"), "id": S("string"), "code": S("integer"), "kind": S("string"), "message": S("string")})
methods.append(m("sync/run", "One full sync with the central store: push local writes and pull everything new, looping until nothing is left either way. Sends `$/progress` notifications {token: <request id>, value: {phase, pushed, pulled, pendingPush}} before the response.",
   [], "summary", S("object", properties={"pushed": S("integer"), "pulled": S("integer"), "roundTrips": S("integer"), "cursor": S("integer"), "rejections": S("array", items=rejection)}, required=["pushed","pulled","roundTrips","cursor","rejections"]),
   ["sync_unreachable","sync_unauthorized","replica_rewound","clock_skew","schema_mismatch"]))
methods.append(m("sync/status", "Pending changes, last successful sync, last error and the records the central store rejected.", [], "status",
   S("object", properties={"pendingChanges": S("integer"), "lastSyncAt": nullable(S("string")), "lastError": nullable(S("string")), "cursor": S("integer"), "centralUrl": nullable(S("string")), "rejections": S("array", items=rejection)}, required=["pendingChanges","lastSyncAt","lastError","cursor","rejections"])))

methods.append(m("report/caseload", "Per provider: active, pending and waitlisted referrals against the cap, and active referrals by risk group (from what this replica holds; the central office's admin replica holds everything).", [], "report",
   S("object", properties={"items": S("array", items=S("object", properties={"providerId": uuid, "name": S("string"), "pilotArea": S("string"), "cap": S("integer"),
     "active": S("integer"), "pending": S("integer"), "waitlisted": S("integer"), "free": S("integer"), "activeByRiskGroup": S("object", additionalProperties=S("integer"))}))}, required=["items"])))

money = S("string", pattern=r"^-?\d+\.\d{2}$")
invoice_schema = S("object", description="Lines and adjustments are rounded half-up to cents each; subtotal = sum of lines; total = subtotal + adjustments. Reproduces shared/domain/tariff-example.json exactly.",
   properties={"providerId": uuid, "kind": S("string", enum=["capitation","outcome"]), "month": S("string"), "period": S("string"),
   "lines": S("array", items=S("object")), "adjustments": S("array", items=S("object", properties={"reason": S("string", enum=["minimum_service_not_delivered","audit_recovery","bonus_education_started"]), "amount": money})),
   "subtotal": money, "total": money,
   "heldBack": S("array", description="outcome invoices only, present when some hours reports of the period could not be priced: they are left out (not the whole period) with the reason", items=S("object", properties={
     "id": uuid, "clientId": uuid, "month": S("string"), "reason": S("string")}))}, required=["providerId","kind","lines","adjustments","subtotal","total"])
methods.append(m("invoice/compute", "A provider's capitation invoice for a month ({kind: capitation, month: YYYY-MM}: daily-prorated capitation per active or ended referral, weighted by the referral's risk group, with the minimum-service sanction) or outcome invoice for a four-month period ({kind: outcome, period: YYYY-Tn, audit?: {seed, rate}}: hours x hourly rate x outcome weight, audit recovery from recorded findings, education bonus). The tariff is versioned data.",
   [p("providerId", uuid, True), p("kind", S("string", enum=["capitation","outcome"]), True), p("month", S("string", pattern=r"^\d{4}-\d{2}$")), p("period", S("string", pattern=r"^\d{4}-T[1-3]$")),
    p("audit", S("object", properties={"seed": S("string"), "rate": S("string")}))], "invoice", invoice_schema, ["validation_failed","not_found"]))
methods.append(m("audit/sample", "The hours reports of a provider's period to verify against the registers: ranked by sha256(\"<seed>:<hours id>\") as lowercase hex ascending, the first ceil(rate x count).",
   [p("providerId", uuid, True), p("period", S("string"), True), p("rate", S("string", description="decimal in (0, 1]"), True), p("seed", S("string"), True)],
   "sample", S("object", properties={"sampled": S("array", items=uuid)}, required=["sampled"]), ["validation_failed","not_found"]))
methods.append(m("audit/record", "Store the register finding for one hours report (verified hours); the next outcome invoice with an audit carries the extrapolated recovery.",
   [p("hoursId", uuid, True), p("verifiedHours", S("string", pattern=r"^\d+(\.\d{1,2})?$"), True)], "hours", ref("Hours"), ["validation_failed","not_found"]))

methods.append(m("report/outcomes", "Per pilot area and risk group: clients with an active or ended referral, how many (and what share) have any hours reported, total hours and outcome fees (hours x hourly rate x weight, each rounded to cents); optionally for one period.",
   [p("period", S("string", pattern=r"^\d{4}-T[1-3]$"))], "report", S("object", properties={"items": S("array", items=S("object", properties={
     "pilotArea": S("string"), "riskGroup": S("integer"), "clients": S("integer"), "clientsWithHours": S("integer"), "shareWithHours": S("string"),
     "totalHours": S("string"), "fees": money}))}, required=["items"]), ["validation_failed"]))

methods.append(m("audit/trail", "The central store's audit trail of one record (admin replicas only; fetched from the central server): for every merged write, when, which replica and actor, the user name the replica was started with, and which fields changed.",
   [p("entity", entity_enum, True), p("id", uuid, True)], "trail", S("object", properties={"items": S("array", items=S("object", properties={
     "at": S("string"), "replicaId": S("string"), "actor": S("string"), "userName": nullable(S("string")), "fields": S("array", items=S("string"))}))}, required=["items"]),
   ["permission_denied","sync_unreachable","sync_unauthorized"]))

errs = {
 "validation_failed": (1001, "A field value is invalid; data.errors lists {field, message}."),
 "not_found": (1002, "No live record with that id."),
 "invalid_transition": (1003, "The referral state machine does not allow that transition."),
 "capacity_exceeded": (1004, "The provider has no free place."),
 "permission_denied": (1005, "The replica's role may not do that."),
 "already_exists": (1006, "A record with that id exists, or the replica path is already initialised."),
 "storage_failed": (1007, "The database was busy or locked; nothing was written; retry."),
 "replica_not_initialized": (1008, "The database is not a Kasvu replica."),
 "storage_fault": (1009, "SQLite reported an error retrying will not fix (a broken constraint, corruption, a full disk); nothing was written."),
 "sync_unreachable": (2001, "The central server could not be reached."),
 "sync_unauthorized": (2002, "The central server refused the replica's token."),
 "replica_rewound": (2003, "The replica's actor counter went backwards (restored backup or copied file)."),
 "clock_skew": (2004, "A timestamp is more than 2 minutes ahead of the central clock."),
 "schema_mismatch": (2005, "The peers' schema versions are incompatible."),
 "sync_busy": (2006, "The central server is serving as many syncs as it allows; retry shortly."),
 "request_timeout": (2007, "The request body reached the central server too slowly."),
}
components_errors = {k: {"code": c, "message": msg, "data": {"kind": k}} for k, (c, msg) in errs.items()}
doc = {
 "openrpc": "1.3.2",
 "info": {"title": "Kasvu replica JSON-RPC API", "version": "1.0.0",
   "description": "JSON-RPC 2.0 over stdio (`kasvu rpc --db PATH`). Both LSP Content-Length framing and newline-delimited JSON; each message is answered in its framing. Standard errors: -32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params (data.errors: [{field, message}]), -32603 internal error, -32800 request cancelled ($/cancelRequest). Domain errors use codes 1000-2999 with data.kind. Money and hours are decimal strings; dates are YYYY-MM-DD."},
 "methods": sorted(methods, key=lambda x: x["name"]),
 "components": {"schemas": schemas, "errors": components_errors},
}
print(json.dumps(doc, indent=2, ensure_ascii=False))
