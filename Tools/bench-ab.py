#!/usr/bin/env python3
"""A/B of two `kasvu` builds by the CPU time of the replica process (steadier than wall time on
a shared machine): for each build, alternating, three rounds, against its own
`kasvu central serve` on SQLite: `kasvu import` of a CSV of clients into an admin replica,
`kasvu sync` pushing them, and `kasvu sync` of a fresh replica pulling them all (initial sync).
Prints the median CPU seconds of each step per build.

Usage: python3 Tools/bench-ab.py OLD/kasvu NEW/kasvu clients.csv ROWS
(a CSV in the shape Tools/bench.py writes: hetu,firstName,lastName,municipality,phone,language)
"""
import subprocess, sys, time, os, tempfile, shutil, resource
def run(cmd): return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
def cpu(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
def measure(kasvu, csvfile, n):
    work = tempfile.mkdtemp()
    db = f"{work}/central.sqlite"
    tok = lambda name: run([kasvu, "central", "add-replica", "--db", db, "--id", name, "--role", "admin"]).strip().splitlines()[-1]
    p = subprocess.Popen([kasvu, "central", "serve", "--db", db, "--listen", "127.0.0.1:0", "--log-level", "error"], stdout=subprocess.PIPE, text=True)
    url = p.stdout.readline().strip().split()[-1]
    try:
        seed = f"{work}/seed.sqlite"
        run([kasvu, "init", "--db", seed, "--replica-id", "seed", "--role", "admin", "--central", url, "--token", tok("seed")])
        imp = cpu([kasvu, "import", "--db", seed, "--entity", "client", csvfile])
        push = cpu([kasvu, "sync", "--db", seed])
        fresh = f"{work}/fresh.sqlite"
        run([kasvu, "init", "--db", fresh, "--replica-id", "fresh", "--role", "admin", "--central", url, "--token", tok("fresh")])
        pull = cpu([kasvu, "sync", "--db", fresh])
        return imp, push, pull
    finally:
        p.terminate(); p.wait(); shutil.rmtree(work)
binaries = sys.argv[1:3]; csvfile = sys.argv[3]; n = int(sys.argv[4])
results = {b: [] for b in binaries}
for round in range(3):
    for b in binaries:
        results[b].append(measure(b, csvfile, n))
for b in binaries:
    rows = results[b]
    med = [sorted(r[i] for r in rows)[1] for i in range(3)]
    print(f"{b}: replica-process CPU seconds (median of 3): import {med[0]:.2f} push {med[1]:.2f} initial sync {med[2]:.2f}", flush=True)
