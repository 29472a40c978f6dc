"""Drives a real `kasvu rpc` process over pipes and prints what happens.

Usage: python3 Tools/demo.py PATH_TO_KASVU
"""
import json
import shutil
import subprocess
import sys
import tempfile

kasvu = sys.argv[1]
workdir = tempfile.mkdtemp(prefix="kasvu-demo-")
db = f"{workdir}/office.sqlite"


def show(title, value):
    print(f"\n== {title}")
    print(json.dumps(value, indent=2, ensure_ascii=False))


class RPC:
    def __init__(self, db):
        self.process = subprocess.Popen([kasvu, "rpc", "--db", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next_id = 1

    def call(self, method, **params):
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.next_id += 1
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        response = json.loads(self.process.stdout.readline())
        if "error" in response:
            return response["error"]
        return response["result"]

    def close(self):
        self.process.stdin.close()
        return self.process.wait()


try:
    init = subprocess.run([kasvu, "init", "--db", db, "--replica-id", "siilinjarvi-office-1", "--role", "office"],
                          check=True, capture_output=True, text=True)
    show("kasvu init", json.loads(init.stdout))
    rpc = RPC(db)
    p1 = rpc.call("provider/create", name="Työpolku Oy", businessId="2077474-0", pilotArea="Pohjois-Savo",
                  cap=700, capitationBase="200.00", hourlyRate="10.00")
    p2 = rpc.call("provider/create", name="Uraverkko ry", businessId="0112038-9", pilotArea="Pohjois-Savo",
                  cap=700, capitationBase="185.50", hourlyRate="12.00")
    show("provider/create (2 providers)", [p1, p2])
    aino = rpc.call("client/create", hetu="131052-308T", firstName="Aino", lastName="Virtanen",
                    municipality="749", language="fi")
    eero = rpc.call("client/create", hetu="010594Y9032", firstName="Eero", lastName="Heikkinen", municipality="402")
    show("client/create (Siilinjärvi 749, Lapinlahti 402)", [aino, eero])
    show("client/create with an invalid henkilötunnus → validation_failed",
         rpc.call("client/create", hetu="131052-308U", lastName="Virhe", municipality="749"))
    referral = rpc.call("referral/create", clientId=aino["id"], providerId=p1["id"], chosenBy="client")
    referral = rpc.call("referral/transition", id=referral["id"], to="active", date="2026-11-02")
    show("referral/create + referral/transition → active", referral)
    show("referral/transition active → pending → invalid_transition",
         rpc.call("referral/transition", id=referral["id"], to="pending"))
    rpc.call("contact/record", clientId=aino["id"], providerId=p1["id"], date="2026-11-05", kind="meeting", note="First meeting")
    show("hours/report", rpc.call("hours/report", clientId=aino["id"], providerId=p1["id"], month="2026-11",
                                  hours="37.5", employerBusinessId="1572860-0"))
    show("client/list where municipality = 749", rpc.call("client/list", where={"municipality": "749"}, limit=10))
    show("replica/info (pendingChanges wait for the next sync)", rpc.call("replica/info"))
    status = rpc.close()
    print(f"\nkasvu rpc exited with status {status} at end of input; the replica is {db}")
finally:
    shutil.rmtree(workdir, ignore_errors=True)
