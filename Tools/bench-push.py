#!/usr/bin/env python3
"""The push alone, with the central server's CPU time: for each round, a fresh
`kasvu central serve`, an admin replica that creates N clients through `kasvu rpc`
(pipelined), then one timed `kasvu sync`. Prints the wall time and rate, the `kasvu sync`
process's CPU time and the server's (from /proc/PID/stat, so only on Linux), which
`Tools/bench-ab.py` does not see. With PERF=FILE in the environment, `perf record -g` samples
the server during the push.

Usage: python3 Tools/bench-push.py KASVU N [ROUNDS]
"""
import subprocess, sys, json, tempfile, shutil, time, resource, os
kasvu, n = sys.argv[1], int(sys.argv[2]); rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
def run(c): return subprocess.run(c, check=True, capture_output=True, text=True).stdout
def hetu(n):
    day, month, individual = 1 + n % 28, 1 + (n // 28) % 12, 100 + (n // 336) % 700
    year = (n // 235_200) % 100
    digits = f"{day:02d}{month:02d}{year:02d}{individual}"
    return f"{day:02d}{month:02d}{year:02d}-{individual}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(digits) % 31]
def client(n, typed):
    c = {"hetu": hetu(n), "firstName": f"Etunimi{n}", "lastName": f"Sukunimi{n}", "municipality": "749", "phone": "040 123 4567", "language": "fi"}
    if typed: c["clientType"] = "person"
    return c
def srvcpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
for r in range(rounds):
    work = tempfile.mkdtemp()
    db = f"{work}/central.sqlite"
    tok = run([kasvu, "central", "add-replica", "--db", db, "--id", "seed", "--role", "admin"]).strip().splitlines()[-1]
    p = subprocess.Popen([kasvu, "central", "serve", "--db", db, "--listen", "127.0.0.1:0", "--log-level", "error"], stdout=subprocess.PIPE, text=True)
    url = p.stdout.readline().strip().split()[-1]
    seed = f"{work}/seed.sqlite"
    run([kasvu, "init", "--db", seed, "--replica-id", "seed", "--role", "admin", "--central", url, "--token", tok])
    rpc = subprocess.Popen([kasvu, "rpc", "--db", seed], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    typed = True
    def call(i, params):
        rpc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": "client/create", "params": params}) + "\n").encode())
    def read():
        while True:
            m = json.loads(rpc.stdout.readline())
            if "id" in m: return m
    call(0, client(0, True)); rpc.stdin.flush(); m = read()
    if "error" in m:
        typed = False; call(0, client(0, False)); rpc.stdin.flush(); m = read(); assert "error" not in m, m
    for s in range(1, n, 500):
        part = range(s, min(n, s + 500))
        for i in part: call(i, client(i, typed))
        rpc.stdin.flush()
        for _ in part:
            m = read(); assert "error" not in m, m
    rpc.stdin.close(); rpc.wait()
    perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(p.pid), "-o", os.environ["PERF"]], stderr=subprocess.DEVNULL) if os.environ.get("PERF") else None
    if perf: time.sleep(0.5)
    c0 = srvcpu(p.pid); b = resource.getrusage(resource.RUSAGE_CHILDREN); t = time.perf_counter()
    run([kasvu, "sync", "--db", seed])
    wall = time.perf_counter() - t; a = resource.getrusage(resource.RUSAGE_CHILDREN); c1 = srvcpu(p.pid)
    if perf: perf.send_signal(2); perf.wait()
    print(f"{kasvu} n={n} wall {wall:.2f}s rate {n/wall:,.0f}/s replicaCPU {(a.ru_utime-b.ru_utime)+(a.ru_stime-b.ru_stime):.2f}s serverCPU {c1-c0:.2f}s", flush=True)
    p.terminate(); p.wait(); shutil.rmtree(work)
