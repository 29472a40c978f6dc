"""A throw-away PostgreSQL cluster for the demo and the benchmarks (Tools/demo --postgres,
Tools/bench --postgres): initdb and pg_ctl in a directory of the caller's, listening on a unix
socket there only, as the user postgres when run as root (PostgreSQL refuses root).
"""
import glob
import os
import pwd
import shutil
import subprocess
import sys


def binaries():
    found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True) if shutil.which("pg_config") else None
    if found and found.returncode == 0 and os.path.exists(found.stdout.strip() + "/initdb"):
        return found.stdout.strip()
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not candidates or not os.path.exists(f"{candidates[-1]}/initdb"):
        sys.exit("error: PostgreSQL is not installed (Tools/bootstrap installs the Debian package postgresql)")
    return candidates[-1]


def start(workdir, database="kasvu_central"):
    """Starts a cluster in WORKDIR/pg with one database; returns its URL and a function that stops it."""
    bindir = binaries()
    os.chmod(workdir, 0o755)  # the server, running as its own user, keeps its socket below
    directory = f"{workdir}/pg"
    os.mkdir(directory)
    as_user = []
    if os.getuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", f"{directory}/data", "-U", "kasvu", "--auth=trust", "-E", "UTF8",
                              "--locale=C", "--no-sync"], check=True, capture_output=True)
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", f"{directory}/data", "-l", f"{directory}/log", "-w", "-t", "60", "start",
                              "-o", f"-k {directory} -c listen_addresses='' -p 5432"], check=True, capture_output=True)
    subprocess.run([f"{bindir}/createdb", "-h", directory, "-p", "5432", "-U", "kasvu", database], check=True, capture_output=True)

    def stop():
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", f"{directory}/data", "-m", "fast", "-w", "stop"], capture_output=True)

    return f"postgres://kasvu@/{database}?host={directory}&port=5432", stop
