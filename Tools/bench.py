"""Kasvu benchmarks: every row compares Kasvu with a baseline measured in the same run.

Usage: python3 Tools/bench.py PATH_TO_RELEASE_KASVU [--records N] [--writes N] [--replicas N]
                              [--replica-records N] [--load-replicas N,N,…] [--load-seconds S]
                              [--markdown FILE] [--postgres] [--only-import | --only-writes]
                              (--replicas 0 skips the many-replicas rows; --load-replicas 0
                              skips the load generator's)

Rows (issue 6; BENCHMARKS.md explains each baseline):
- local writes through `kasvu rpc` (client/update, one request at a time and pipelined) vs raw
  SQLite single-row UPDATE transactions at the same durability (WAL, synchronous=FULL);
- a push of N clients to the central server over loopback HTTP, and the initial sync of the
  same N into an empty replica, vs inserting the same rows into a plain SQLite table in one
  transaction;
- peak memory (max RSS) of that initial sync vs a sync with nothing to do;
- `sync/run` over a long-lived `kasvu rpc` with nothing to do, and with one changed record,
  vs the floor of one JSON-RPC round trip plus one HTTP round trip;
- the replica file vs the same rows in a plain table with the same indexes, and without them;
- R office replicas syncing at once against one central server vs the same syncs one by one;
- the load generator (`kasvu-load`, beside PATH_TO_RELEASE_KASVU; issue 17): at each level of
  --load-replicas (default 100,250,500,1000), that many simulated replicas in one process, each
  changing one client and syncing every 3 s over its own connection, against one `kasvu central
  serve`: p50 and p99 round trip vs one replica alone in the same run, throughput, failed syncs;
- client/search in the initially synced replica (p95 over names and henkilötunnus) vs a
  replica/info round trip;
- with --postgres, on a throw-away PostgreSQL cluster (Tools/pgcluster.py; fsync on, as the
  SQLite rows' synchronous=FULL):
  - the same push and initial sync against `kasvu central serve --store` vs `COPY` of the same
    N rows into a plain PostgreSQL table (the plain SQLite table's columns, primary key only) in
    the same cluster, one statement through psql;
  - the same push and initial sync vs against the SQLite central store above;
  - two admin replicas of N/2 new clients each pushing at once, one through each of two
    `kasvu central serve --store` processes on one database, vs the same two pushes at once
    through one process (each on a fresh database; records/s of both together).
"""
import atexit
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import csv
import time
import urllib.request

import pgcluster

kasvu = sys.argv[1]
args = sys.argv[2:]


def option(name, default):
    return int(args[args.index(name) + 1]) if name in args else default


records = option("--records", 100_000)
writes = option("--writes", 2000)
replica_count = option("--replicas", 100)
replica_records = option("--replica-records", 100)
load_levels = [int(n) for n in (args[args.index("--load-replicas") + 1] if "--load-replicas" in args else "100,250,500,1000").split(",") if int(n) > 0]
load_seconds = option("--load-seconds", 20)
markdown = args[args.index("--markdown") + 1] if "--markdown" in args else None
work = tempfile.mkdtemp(prefix="kasvu-bench-")
rows = []


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def hetu(n):
    """A valid synthetic henkilötunnus, distinct for n below 28 × 12 × 100 × 700."""
    day, month, individual = 1 + n % 28, 1 + (n // 28) % 12, 100 + (n // 336) % 700
    year = (n // 235_200) % 100
    digits = f"{day:02d}{month:02d}{year:02d}{individual}"
    return f"{day:02d}{month:02d}{year:02d}-{individual}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(digits) % 31]


def client(n, municipality="749"):
    return {"clientType": "person", "hetu": hetu(n), "firstName": f"Etunimi{n}", "lastName": f"Sukunimi{n}",
            "municipality": municipality, "phone": "040 123 4567", "language": "fi"}


class RPC:
    """A long-lived `kasvu rpc` driven over its stdin and stdout, newline-delimited."""

    def __init__(self, db):
        self.p = subprocess.Popen([kasvu, "rpc", "--db", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.n = 0

    def send(self, method, params):
        self.n += 1
        self.p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params}) + "\n").encode())

    def read(self):
        while True:  # skips $/progress notifications
            message = json.loads(self.p.stdout.readline())
            if "id" in message:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message["result"]

    def call(self, method, **params):
        self.send(method, params)
        self.p.stdin.flush()
        return self.read()

    def pipelined(self, method, params_list, chunk=500):
        """Sends many requests before reading their answers (in chunks, so no pipe fills)."""
        results = []
        for start in range(0, len(params_list), chunk):
            part = params_list[start:start + chunk]
            for params in part:
                self.send(method, params)
            self.p.stdin.flush()
            results += [self.read() for _ in part]
        return results

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def row(name, kasvu_value, baseline_name, baseline_value, unit, target, higher_is_better=True):
    if higher_is_better:
        ratio = kasvu_value / baseline_value if baseline_value else float("nan")
    else:
        ratio = baseline_value / kasvu_value if kasvu_value else float("nan")
    rows.append((name, kasvu_value, baseline_name, baseline_value, unit, ratio, target))
    log(f"{name}: {kasvu_value:,.1f} {unit} (baseline {baseline_value:,.1f}, ratio {ratio:{'.2f' if ratio >= 0.01 else '.4f'}})")


def run(command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def init(name, role="admin", central=None, token=None):
    db = f"{work}/{name}.sqlite"
    command = [kasvu, "init", "--db", db, "--replica-id", name, "--role", role]
    if central:
        command += ["--central", central, "--token", token]
    run(command)
    return db


def timed_process(command):
    """Wall seconds and peak resident memory (MB) of one child process. GNU time reports the
    peak: a child forked straight from this Python process would inherit its high-water mark."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed: {result.stderr}")
    return elapsed, int(result.stderr.strip().splitlines()[-1]) / 1024


def plain_table(path, indexes):
    """The baseline store: the client's columns in an ordinary table (WAL, FULL)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE client (id TEXT PRIMARY KEY, hetu TEXT, business_id TEXT, first_name TEXT, last_name TEXT, "
               "municipality TEXT, phone TEXT, language TEXT, client_type TEXT, risk_group INTEGER, status TEXT) WITHOUT ROWID")
    if indexes:  # the replica's list indexes
        for column in ["hetu", "business_id", "last_name", "municipality", "risk_group", "status"]:
            db.execute(f"CREATE INDEX client_by_{column} ON client({column}, id)")
    return db


def plain_insert(db, count, id_of):
    start = time.perf_counter()
    db.execute("BEGIN")
    for n in range(count):
        c = client(n)
        db.execute("INSERT INTO client VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (id_of(n), c["hetu"], None, c["firstName"], c["lastName"], c["municipality"], c["phone"],
                    c["language"], "person", None, "registered"))
    db.execute("COMMIT")
    return count / (time.perf_counter() - start)


def file_size(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.close()
    return os.path.getsize(path) / 1e6


# 0. Import: `kasvu import` of a CSV file of clients into an admin replica, against Python's
# csv reader inserting the same rows into a plain indexed table in one transaction.
log(f"import: {records} clients from CSV")
with open(f"{work}/clients.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["hetu", "firstName", "lastName", "municipality", "phone", "language"])
    for n in range(records):
        c = client(n)
        writer.writerow([c["hetu"], c["firstName"], c["lastName"], c["municipality"], c["phone"], c["language"]])
seconds, import_memory = timed_process([kasvu, "import", "--db", init("import"), "--entity", "client", f"{work}/clients.csv"])
plain = plain_table(f"{work}/plain-import.sqlite", indexes=True)
start = time.perf_counter()
plain.execute("BEGIN")
with open(f"{work}/clients.csv", newline="") as source:
    for n, r in enumerate(csv.DictReader(source)):
        plain.execute("INSERT INTO client VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      (str(n), r["hetu"], None, r["firstName"], r["lastName"], r["municipality"], r["phone"], r["language"], "person", None, "registered"))
plain.execute("COMMIT")
plain_rate = records / (time.perf_counter() - start)
row(f"import of {records:,} clients from CSV (kasvu import)", records / seconds, "Python csv + plain indexed INSERT", plain_rate, "rows/s",
    "≥ 20,000 rows/s")
log(f"import peak memory: {import_memory:.1f} MB")
if "--only-import" in args:
    sys.exit(0)

# 1. Local writes.
log(f"local writes: {writes} clients, then {writes} updates one at a time and {writes} pipelined")
db = init("writes")
rpc = RPC(db)
ids = [r["id"] for r in rpc.pipelined("client/create", [client(n) for n in range(writes)])]
start = time.perf_counter()
for n, identifier in enumerate(ids):
    rpc.call("client/update", id=identifier, set={"phone": f"040 {n:07d}"})
serial = writes / (time.perf_counter() - start)
start = time.perf_counter()
rpc.pipelined("client/update", [{"id": identifier, "set": {"phone": f"050 {n:07d}"}} for n, identifier in enumerate(ids)])
pipelined = writes / (time.perf_counter() - start)
rpc.close()
raw = plain_table(f"{work}/raw.sqlite", indexes=True)
plain_insert(raw, writes, str)
start = time.perf_counter()
for n in range(writes):
    raw.execute("BEGIN")
    raw.execute("UPDATE client SET phone = ? WHERE id = ?", (f"040 {n:07d}", str(n)))
    raw.execute("COMMIT")
raw_writes = writes / (time.perf_counter() - start)
# Targets of issue 17.
row("local write, one at a time (client/update via kasvu rpc)", serial, "raw SQLite UPDATE transaction", raw_writes, "writes/s", "ratio ≥ 0.8")
row("local write, pipelined (client/update via kasvu rpc)", pipelined, "raw SQLite UPDATE transaction", raw_writes, "writes/s", "report")
row("local write, pipelined vs one at a time", pipelined, "the same writes one at a time", serial, "writes/s", "ratio ≥ 3")
if "--only-writes" in args:
    sys.exit(0)

def serve(store):
    """A `kasvu central serve` on a free loopback port; returns the process and its URL."""
    process = subprocess.Popen([kasvu, "central", "serve", *store, "--listen", "127.0.0.1:0", "--log-level", "error"],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        process.wait()
        raise RuntimeError(f"kasvu central serve {' '.join(store)} did not start")
    return process, line.split(" ")[-1]


def stop_servers(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# 2. Push and initial sync over loopback HTTP.
central_db = f"{work}/central.sqlite"
central, url = serve(["--db", central_db])
atexit.register(stop_servers, [central])  # on every path out, an exception included


def token(name, *scope):
    return run([kasvu, "central", "add-replica", "--db", central_db, "--id", name, *scope]).strip().splitlines()[-1]


def push_and_pull(prefix, central_url, token_of):
    """Creates `records` clients in a new seed replica, pushes them (records/s), then syncs them
    into an empty replica (records/s and that process's peak memory); returns the rates, the
    memory and both replicas' paths."""
    log(f"creating {records} clients in the {prefix}seed replica")
    seed = init(f"{prefix}seed", central=central_url, token=token_of(f"{prefix}seed"))
    creator = RPC(seed)
    creator.pipelined("client/create", [client(n) for n in range(records)])
    creator.close()
    log(f"push of {records} clients ({prefix or 'sqlite-'}store)")
    elapsed, _ = timed_process([kasvu, "sync", "--db", seed])
    pushed = records / elapsed
    log(f"initial sync of {records} clients ({prefix or 'sqlite-'}store)")
    fresh = init(f"{prefix}fresh", central=central_url, token=token_of(f"{prefix}fresh"))
    elapsed, rss = timed_process([kasvu, "sync", "--db", fresh])
    return pushed, records / elapsed, rss, seed, fresh


push, pull, pull_rss, seed_db, fresh_db = push_and_pull("", url, lambda name: token(name, "--role", "admin"))
_, idle_rss = timed_process([kasvu, "sync", "--db", fresh_db])
insert = plain_insert(plain_table(f"{work}/plain-for-insert.sqlite", indexes=False), records,
                      lambda n: f"00000000-0000-4000-8000-{n:012d}")
row(f"push of {records:,} clients to the central server (kasvu sync)", push, "plain-table INSERT, one transaction", insert,
    "records/s", "ratio ≥ 0.25 and ≥ 50,000/s")
row(f"initial sync of {records:,} clients into an empty replica (kasvu sync)", pull, "plain-table INSERT, one transaction", insert,
    "records/s", "ratio ≥ 0.5 and ≥ 100,000/s")
row(f"peak memory of the initial sync of {records:,} clients", pull_rss, "the same process syncing nothing", idle_rss, "MB",
    "≤ 100 MB at 1,000,000", higher_is_better=False)

def copy_rows(count, id_of):
    """The rows plain_insert writes, as the text COPY reads (tab-separated, \\N for NULL)."""
    lines = []
    for n in range(count):
        c = client(n)
        lines.append("\t".join([id_of(n), c["hetu"], "\\N", c["firstName"], c["lastName"], c["municipality"], c["phone"],
                                c["language"], "person", "\\N", "registered"]))
    return ("\n".join(lines) + "\n").encode()


def postgres_rows():
    """Push and initial sync with the central store on PostgreSQL, against COPY into a plain table
    and against the SQLite store above; then two replicas pushing at once through two servers
    against the same through one."""
    postgres_url, stop_postgres = pgcluster.start(work)
    servers = []
    try:
        # The baseline: COPY of the same rows into a plain table (the columns of plain_table, its
        # primary key, no secondary index) in the same cluster, one statement, durable commit.
        pgcluster.create_database(work, "bench_plain")
        pgcluster.psql(work, "bench_plain", "CREATE TABLE client (id text PRIMARY KEY, hetu text, business_id text, "
                       "first_name text, last_name text, municipality text, phone text, language text, client_type text, "
                       "risk_group integer, status text)")
        data = copy_rows(records, lambda n: f"00000000-0000-4000-8000-{n:012d}")
        log(f"COPY of {records} rows into a plain PostgreSQL table")
        start = time.perf_counter()
        pgcluster.psql(work, "bench_plain", "COPY client FROM STDIN", data)
        copy = records / (time.perf_counter() - start)
        copied = int(pgcluster.psql(work, "bench_plain", "SELECT count(*) FROM client"))
        if copied != records:
            raise RuntimeError(f"COPY stored {copied} rows, not {records}")

        # The same push and initial sync as above, one server on PostgreSQL.
        process, pg_url = serve(["--store", postgres_url])
        servers.append(process)

        def pg_token(store_url, name):
            return run([kasvu, "central", "add-replica", "--store", store_url, "--id", name, "--role", "admin"]).strip().splitlines()[-1]

        pg_push, pg_pull, _, _, _ = push_and_pull("pg-", pg_url, lambda name: pg_token(postgres_url, name))
        stop_servers(servers)
        servers.clear()
        row(f"push of {records:,} clients, central store on PostgreSQL (kasvu sync)", pg_push,
            "COPY into a plain PostgreSQL table", copy, "records/s", "report")
        row(f"initial sync of {records:,} clients, central store on PostgreSQL (kasvu sync)", pg_pull,
            "COPY into a plain PostgreSQL table", copy, "records/s", "report")
        row(f"push of {records:,} clients, central store on PostgreSQL", pg_push, "the same push, central store on SQLite", push,
            "records/s", "report")
        row(f"initial sync of {records:,} clients, central store on PostgreSQL", pg_pull, "the same sync, central store on SQLite",
            pull, "records/s", "report")

        # Two admin replicas of N/2 new clients each push at once, through one server and then
        # through two (one each), each configuration on a fresh database of its own. Each sync
        # also pulls what the other replica pushed (an admin replica sees everything).
        half = records // 2
        throughput = {}
        for count in (1, 2):
            store_url = pgcluster.create_database(work, f"kasvu_servers_{count}")
            server_urls = []
            for _ in range(count):  # one after the other: the first creates the schema
                process, server_url = serve(["--store", store_url])
                servers.append(process)
                server_urls.append(server_url)
            halves = []
            for i in range(2):
                name = f"pg-{count}-servers-{i}"
                db = init(name, central=server_urls[i % count], token=pg_token(store_url, name))
                rpc = RPC(db)
                rpc.pipelined("client/create", [client(n) for n in range(i * half, (i + 1) * half)])
                rpc.close()
                halves.append(db)
            log(f"two replicas pushing {half} clients each at once through {count} server(s)")
            errors = []

            def push_half(db):
                try:  # a batch may wait for the other replica's batch (one writer at a time): a longer --timeout
                    timed_process([kasvu, "sync", "--db", db, "--timeout", "900"])
                except Exception as error:  # noqa: BLE001 (reported below)
                    errors.append(error)

            threads = [threading.Thread(target=push_half, args=(db,)) for db in halves]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            if errors:
                raise errors[0]
            throughput[count] = 2 * half / elapsed
            stored = int(pgcluster.psql(work, f"kasvu_servers_{count}", "SELECT count(*) FROM record WHERE entity = 'client'"))
            if stored != 2 * half:
                raise RuntimeError(f"the store holds {stored} clients after the pushes, not {2 * half}")
            pulled = [sqlite3.connect(db).execute("SELECT count(*) FROM client").fetchone()[0] - half for db in halves]
            log(f"{2 * half / elapsed:,.1f} records/s; the replicas pulled {pulled[0]} and {pulled[1]} of each other's clients")
            stop_servers(servers)
            servers.clear()
        row(f"two replicas pushing {half:,} clients each at once, two central servers on one PostgreSQL store", throughput[2],
            "the same pushes through one server", throughput[1], "records/s", "report")
    finally:
        stop_servers(servers)
        stop_postgres()


if "--postgres" in args:
    postgres_rows()

# 3. Sync latency inside a long-lived process: nothing to do, and one changed record.
log("sync latency")
fresh = RPC(fresh_db)
seed = RPC(seed_db)


def millis(action):
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def floor_round_trip():
    fresh.call("replica/info")
    with urllib.request.urlopen(f"{url}/healthz") as response:
        response.read()


fresh.call("sync/run")
floor = statistics.median(millis(floor_round_trip) for _ in range(30))
idle = statistics.median(millis(lambda: fresh.call("sync/run")) for _ in range(30))
first = seed.call("client/list", limit=1)["items"][0]["id"]
changes = []
for n in range(30):
    seed.call("client/update", id=first, set={"phone": f"045 {n:07d}"})
    seed.call("sync/run")
    changes.append(millis(lambda: fresh.call("sync/run")))
if fresh.call("client/get", id=first)["phone"] != f"045 {29:07d}":
    raise RuntimeError("the incremental sync did not bring the change")
# An erasure scrubs the file it lands in (VACUUM and an emptied WAL): paid once per delete, on
# the laptop at the delete, and at the central store right after it answers the sync that
# brought the delete. `kasvu central scrub` waits for the writer, so for that scrub; its own
# start with nothing owed is the baseline.
victims = [item["id"] for item in seed.call("client/list", limit=6)["items"][1:]]
updates, update_syncs, deletes, delete_syncs, central_scrubs, scrub_starts = [], [], [], [], [], []
scrub_command = [kasvu, "central", "scrub", "--db", central_db]


def central_scrub():
    # On a large store the server's scrub may hold the writer longer than the command's
    # 10-second busy timeout: the command then fails and is run again (at most 30 times).
    for _ in range(30):
        done = subprocess.run(scrub_command, capture_output=True, text=True)
        if done.returncode == 0:
            return
    raise RuntimeError(f"kasvu central scrub kept failing: {done.stderr}")


for n, victim in enumerate(victims):
    updates.append(millis(lambda: seed.call("client/update", id=victim, set={"phone": f"046 {n:07d}"})))
    update_syncs.append(millis(lambda: seed.call("sync/run")))
    deletes.append(millis(lambda: seed.call("client/delete", id=victim)))
    delete_syncs.append(millis(lambda: seed.call("sync/run")))
    central_scrubs.append(millis(central_scrub))
    scrub_starts.append(millis(central_scrub))
# Client search (issue 14): whole last names, first and last name, henkilötunnus, each naming
# one client of the top tenth (whose numbers begin no other's), against the same round trip with
# nothing to search; and, for reference, a prefix that a ninth of the register begins with.
picker = random.Random(14)
targets = [picker.randrange(records * 9 // 10, records) for _ in range(100)]
queries = [(f"Sukunimi{n}", n) for n in targets] + [(f"etunimi{n} sukunimi{n}", n) for n in targets] + [(hetu(n), n) for n in targets]
searches = []
for text, n in queries:
    searches.append(millis(lambda: fresh.call("client/search", text=text)))
    found = fresh.call("client/search", text=text)["items"]
    if not found or found[0]["hetu"] != hetu(n):
        raise RuntimeError(f"client/search did not put client {n} first for {text!r}")
search_floor = [millis(lambda: fresh.call("replica/info")) for _ in queries]
broad = [millis(lambda: fresh.call("client/search", text="Sukunimi9")) for _ in range(10)]
seed.close()
fresh.close()


def p95(values):
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


row(f"client/search p95 (last name, first and last name, henkilötunnus), {records:,}-client replica", p95(searches),
    "replica/info round trip p95", p95(search_floor), "ms", "p95 < 20 ms at 1,000,000", higher_is_better=False)
row(f"client/search median, a prefix a ninth of {records:,} clients begin with (first page)", statistics.median(broad),
    "replica/info round trip median", statistics.median(search_floor), "ms", "(for reference)", higher_is_better=False)
row(f"client/delete (erasure and scrub), {records:,}-record replica (median of 5)", statistics.median(deletes),
    "client/update of the same clients", statistics.median(updates), "ms", "(cost of the scrub)", higher_is_better=False)
row(f"sync/run pushing one delete, answered before the central scrub, {records:,}-record store (median of 5)", statistics.median(delete_syncs),
    "sync/run pushing one update", statistics.median(update_syncs), "ms", "(the answer does not wait)", higher_is_better=False)
row(f"central scrub after one delete, {records:,}-record store (kasvu central scrub waiting for it, median of 5)", statistics.median(central_scrubs),
    "kasvu central scrub with nothing owed", statistics.median(scrub_starts), "ms", "(cost of the scrub)", higher_is_better=False)
row(f"sync/run with nothing to do, {records:,}-record replica (median of 30)", idle,
    "replica/info + GET /healthz round trips", floor, "ms", "< 10 ms", higher_is_better=False)
row(f"sync/run pulling one changed record, {records:,}-record replica (median of 30)", statistics.median(changes),
    "replica/info + GET /healthz round trips", floor, "ms", "< 20 ms", higher_is_better=False)

# 4. File size.
log("file sizes")
plain_indexed = plain_table(f"{work}/plain-indexed.sqlite", indexes=True)
plain_insert(plain_indexed, records, lambda n: f"00000000-0000-4000-8000-{n:012d}")
plain_indexed.close()
plain_bare = plain_table(f"{work}/plain-bare.sqlite", indexes=False)
plain_insert(plain_bare, records, lambda n: f"00000000-0000-4000-8000-{n:012d}")
plain_bare.close()
size = file_size(fresh_db)
row(f"replica file, {records:,} clients", size, "plain table, same indexes", file_size(f"{work}/plain-indexed.sqlite"), "MB",
    "≤ 1.3× (ratio ≥ 0.77)", higher_is_better=False)
row(f"replica file, {records:,} clients", size, "plain table, no secondary index", file_size(f"{work}/plain-bare.sqlite"), "MB",
    "(for reference)", higher_is_better=False)

# 5. Many replicas at once: office replicas, one municipality each, pushing their own clients.
def percentile(values, p):
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def many_replicas():
    log(f"{replica_count} replicas syncing, one by one and then at once")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../Sources/KasvuDomain/Resources/municipalities.csv")) as f:
        municipalities = [line.split(",")[0] for line in f.read().splitlines()[1:]]
    offices = []
    for r in range(replica_count):
        municipality = municipalities[r % len(municipalities)]
        name = f"office-{r}"
        offices.append((init(name, role="office", central=url, token=token(name, "--role", "office", "--municipalities", municipality)),
                        municipality))
    next_client = records

    def fill_offices():
        nonlocal next_client
        for db, municipality in offices:
            rpc = RPC(db)
            rpc.pipelined("client/create", [client(next_client + n, municipality) for n in range(replica_records)])
            rpc.close()
            next_client += replica_records

    def sync_all(concurrently):
        latencies = [None] * len(offices)
        refused = []

        def one(index):
            # A sync the server turns away (sync_busy, after the client's retries) is counted, not
            # timed: a latency of 0 for it would flatter the percentiles.
            try:
                latencies[index] = timed_process([kasvu, "sync", "--db", offices[index][0]])[0] * 1000
            except RuntimeError as error:
                refused.append(str(error)[-120:])

        start = time.perf_counter()
        if concurrently:
            threads = [threading.Thread(target=one, args=(i,)) for i in range(len(offices))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:
            for i in range(len(offices)):
                one(i)
        done = [latency for latency in latencies if latency is not None]
        if refused:
            log(f"{len(refused)} of {len(offices)} syncs failed, e.g. {refused[0]}")
        return len(done) * replica_records / (time.perf_counter() - start), sorted(done), len(refused)

    for db, _ in offices:  # first contact: nothing to push yet
        run([kasvu, "sync", "--db", db])
    fill_offices()
    serial_throughput, serial_latencies, _ = sync_all(concurrently=False)
    fill_offices()
    concurrent_throughput, latencies, refused = sync_all(concurrently=True)
    row(f"{replica_count} replicas syncing at once: syncs that failed (sync_busy after the client's retries; ratio: the share)", refused,
        "syncs started", replica_count, "syncs", "report: none should fail")
    row(f"{replica_count} replicas syncing at once, {replica_records} new clients each: throughput", concurrent_throughput,
        "the same syncs one by one", serial_throughput, "records/s", "report")
    row(f"{replica_count} replicas syncing at once: p50 latency (kasvu sync process)", percentile(latencies, 50),
        "p50 one by one", percentile(serial_latencies, 50), "ms", "report", higher_is_better=False)
    row(f"{replica_count} replicas syncing at once: p99 latency (kasvu sync process)", percentile(latencies, 99),
        "p99 one by one", percentile(serial_latencies, 99), "ms", "report", higher_is_better=False)


if replica_count > 0:  # --replicas 0 skips this part (for a large --records run)
    many_replicas()


# 6. The load generator: many simulated replicas in one process, over real HTTP, one server.
def load_generator():
    results_file = f"{work}/load.json"
    levels = [1] + load_levels  # one replica alone is the same-run baseline
    log(f"kasvu-load at {levels} replicas, {load_seconds} s each")
    table = run([os.path.join(os.path.dirname(kasvu), "kasvu-load"), "--replicas", ",".join(map(str, levels)),
                 "--duration", str(load_seconds), "--json", results_file])
    log("\n" + table)
    results = json.load(open(results_file))
    alone = results[0]
    for level in results[1:]:
        n = level["replicas"]
        row(f"{n:,} replicas in one process, a change every 3 s each: round trip p50", level["roundTripP50Ms"],
            "one replica alone", alone["roundTripP50Ms"], "ms", "report", higher_is_better=False)
        row(f"{n:,} replicas in one process, a change every 3 s each: round trip p99", level["roundTripP99Ms"],
            "one replica alone", alone["roundTripP99Ms"], "ms", "≤ 50 ms at 1,000", higher_is_better=False)
        row(f"{n:,} replicas in one process: syncs completed", level["syncs"] / level["seconds"],
            "syncs due (replicas / 3 s)", n / 3, "syncs/s", "all")
        row(f"{n:,} replicas in one process: failed syncs (ratio: share of those due)", sum(level["failures"].values()),
            "syncs due", n / 3 * load_seconds, "syncs", "none")


if load_levels:
    load_generator()

stop_servers([central])

table = ["| row | Kasvu | baseline | baseline value | unit | ratio (higher is better) | target |",
         "|---|---|---|---|---|---|---|"]
for name, value, base_name, base, unit, ratio, target in rows:
    table.append(f"| {name} | {value:,.1f} | {base_name} | {base:,.1f} | {unit} | {ratio:{'.2f' if ratio >= 0.01 else '.4f'}} | {target} |")
print("\n".join(table))
if markdown:
    with open(markdown, "w") as f:
        f.write("\n".join(table) + "\n")
