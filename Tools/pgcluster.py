"""A throw-away PostgreSQL cluster for the demo and the benchmarks (Tools/demo --postgres,
Tools/bench --postgres): initdb and pg_ctl in a directory of the caller's, listening on a unix
socket there only, as the user postgres when run as root (PostgreSQL refuses root).

Set up as the tests' cluster (Tests/KasvuTestSupport/PostgresCluster.swift: trust
authentication for the superuser kasvu, UTF8, locale C, `initdb --no-sync`, no TCP listener)
with one difference: durability stays on (fsync, synchronous_commit, full_page_writes), so a
commit is on disk when it is acknowledged, as in the SQLite rows it is compared with
(synchronous = FULL). The tests turn it off for speed; a benchmark must not.
"""
import glob
import os
import pwd
import shutil
import subprocess
import sys

PORT = 5432  # with no TCP listener, it only names the socket file WORKDIR/pg/.s.PGSQL.5432
USER = "kasvu"


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
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", f"{directory}/data", "-U", USER, "--auth=trust", "-E", "UTF8",
                              "--locale=C", "--no-sync"], check=True, capture_output=True)

    def stop():
        if os.path.exists(f"{directory}/data/postmaster.pid"):
            subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", f"{directory}/data", "-m", "fast", "-w", "-t", "60", "stop"],
                           capture_output=True)

    # PostgreSQL's defaults otherwise (shared_buffers 128 MB, max_wal_size 1 GB, max_connections 100).
    options = (f"-k {directory} -c listen_addresses='' -p {PORT} "
               "-c fsync=on -c synchronous_commit=on -c full_page_writes=on")
    try:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", f"{directory}/data", "-l", f"{directory}/log", "-w", "-t", "60",
                                  "start", "-o", options], check=True, capture_output=True)
        url = create_database(workdir, database)
    except BaseException:
        stop()  # a server that started late, or started but refused the database, must not stay behind
        raise
    return url, stop


def create_database(workdir, name):
    """Creates the database NAME in the cluster started in WORKDIR; returns its URL."""
    subprocess.run([f"{binaries()}/createdb", "-h", f"{workdir}/pg", "-p", str(PORT), "-U", USER, name], check=True,
                   capture_output=True)
    return f"postgres://{USER}@/{name}?host={workdir}/pg&port={PORT}"


def psql(workdir, database, command, stdin=None):
    """Runs one psql COMMAND (SQL or a backslash command) on DATABASE, with STDIN (bytes) as its
    standard input (COPY … FROM STDIN reads it); returns psql's output, values only (-A -t).
    Fails on any error."""
    result = subprocess.run([f"{binaries()}/psql", "-h", f"{workdir}/pg", "-p", str(PORT), "-U", USER, "-d", database,
                             "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", command], input=stdin, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"psql {command!r}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode()
