"""A PostgreSQL cluster built the way a new Supabase project is, for the test suite.

Run as root (CI does, from .ci/run): `python3 tests/supabase/cluster.py`. It
1. copies the pgmq extension files Supabase ships (1.4.4, 1.5.1 and the upgrade path) into the server's
   extension folder, so `create extension pgmq` works as it does on Supabase;
2. makes a cluster `15/supabase` on port 5433 whose bootstrap superuser is `supabase_admin`, with pg_cron
   preloaded where the server has it;
3. builds the database `supabase_base` as the Supabase image does (`postgres/migrate.sh`): the init scripts as
   `postgres` while it is still a superuser (roles, the default privileges that grant every new object in
   `public` to anon and authenticated, the auth and storage schemas, per-role statement timeouts), then the image
   migrations as `supabase_admin` (which demote `postgres`), then Realtime's tenant migrations, then pg_cron;
4. prints what it could not reproduce (statements that failed and why) and the admin URL.

The test suite clones `supabase_base` for its template database (tests/conftest.py). The build is kept while
the reference files and this script are unchanged (a fingerprint in the database's comment) and redone from
scratch otherwise, since roles live in the cluster, not in a database.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.supabase import realtime_schema, reference

VERSION = "15"
NAME = "supabase"
PORT = 5433
BASE = "supabase_base"
ADMIN = "supabase_admin"
# pg_cron runs its scheduler in one database only. The base is built while that database is `supabase_base` (so
# the extension can be created there and cloned), then the cluster restarts with `postgres` as the scheduler's
# database, which leaves `supabase_base` free of connections so it can serve as a template.
_CRON_FINAL_DATABASE = "postgres"


def admin_url(port: int = PORT, dbname: str = "postgres") -> str:
    return f"postgresql://{ADMIN}@127.0.0.1:{port}/{dbname}"


def fingerprint() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(Path(realtime_schema.__file__).read_bytes())
    for path in sorted(reference.root().rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def _psql(port: int, user: str, dbname: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _run("psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", dbname, *args, check=False)


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.strip() for line in result.stderr.splitlines() if "ERROR:" in line]


def psql_file(port: int, user: str, dbname: str, path: Path) -> list[str]:
    """Apply a file the way the Supabase image does (psql), going on past errors; returns the errors."""
    return _errors(_psql(port, user, dbname, "-v", "ON_ERROR_STOP=0", "-f", str(path)))


def psql_command(port: int, user: str, dbname: str, command: str) -> list[str]:
    return _errors(_psql(port, user, dbname, "-v", "ON_ERROR_STOP=0", "-c", command))


def install_pgmq_files() -> list[str]:
    """Copy Supabase's pgmq extension files into this server's extension folder (needs root)."""
    sharedir = Path(_run(f"/usr/lib/postgresql/{VERSION}/bin/pg_config", "--sharedir").stdout.strip())
    target = sharedir / "extension"
    copied = []
    for source in sorted(reference.pgmq_dir().glob("pgmq*")):
        dest = target / source.name
        if not dest.exists() or dest.read_bytes() != source.read_bytes():
            shutil.copyfile(source, dest)
            copied.append(source.name)
    return copied


def _has_pg_cron() -> bool:
    return Path(f"/usr/lib/postgresql/{VERSION}/lib/pg_cron.so").exists()


def _config_dir() -> Path:
    return Path(f"/etc/postgresql/{VERSION}/{NAME}")


def _write_config(port: int, cron_database: str | None) -> None:
    lines = [
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        "max_connections = 200",
        # A test cluster: durability across a power cut is not what it is for.
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
    ]
    if cron_database is not None:
        lines += ["shared_preload_libraries = 'pg_cron'", f"cron.database_name = '{cron_database}'"]
    conf_d = _config_dir() / "conf.d"
    conf_d.mkdir(exist_ok=True)
    (conf_d / "wedsync.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ctl(action: str) -> None:
    _run("pg_ctlcluster", "--skip-systemctl-redirect", VERSION, NAME, action)


def _wait_ready(port: int) -> None:
    _run("pg_isready", "-h", "127.0.0.1", "-p", str(port), "-t", "60")


def _current_fingerprint(port: int) -> str | None:
    result = _psql(
        port,
        ADMIN,
        "postgres",
        "-At",
        "-c",
        f"select shobj_description(oid, 'pg_database') from pg_database where datname = '{BASE}'",
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def _cluster_exists() -> bool:
    return _config_dir().is_dir()


def _create_cluster(port: int) -> None:
    if _cluster_exists():
        _run("pg_dropcluster", "--stop", VERSION, NAME)
    _run("pg_createcluster", VERSION, NAME, "-p", str(port), "--", f"--username={ADMIN}", "--auth=trust")


def build_base(port: int, print_: bool = True) -> list[str]:
    """Build `supabase_base` on a new cluster; returns what could not be reproduced."""
    skipped: list[str] = []
    ref = reference.root()
    cron = _has_pg_cron()
    psql_command(port, ADMIN, "postgres", "create role postgres superuser login")
    psql_command(port, ADMIN, "postgres", "alter database postgres owner to postgres")
    psql_command(port, ADMIN, "postgres", f"create database {BASE} owner postgres")
    for path in sorted((ref / "postgres" / "init-scripts").glob("*.sql")):
        skipped += [f"{path.name}: {e}" for e in psql_file(port, "postgres", BASE, path)]
    for path in sorted((ref / "postgres" / "migrations").glob("*.sql")):
        skipped += [f"{path.name}: {e}" for e in psql_file(port, ADMIN, BASE, path)]
    if not Path(f"/usr/lib/postgresql/{VERSION}/lib/safeupdate.so").exists():
        # PostgREST's session library (refuses UPDATE/DELETE without WHERE); without the file no login as
        # authenticator would work at all.
        psql_command(port, ADMIN, "postgres", "alter role authenticator reset session_preload_libraries")
        skipped.append("pg-safeupdate: not packaged for Debian; authenticator logs in without it")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(realtime_schema.script(ref / "realtime" / "tenant-migrations"))
    try:
        skipped += [f"realtime: {e}" for e in psql_file(port, ADMIN, BASE, Path(script.name))]
    finally:
        os.unlink(script.name)
    if cron:
        # As Supabase's dashboard does when pg_cron is enabled (its event trigger grants cron to postgres).
        skipped += [f"pg_cron: {e}" for e in psql_command(port, ADMIN, BASE, "create extension pg_cron")]
    else:
        skipped.append("pg_cron: not installed on this server (apt-get install postgresql-15-cron)")
    skipped.append("pg_net: not packaged for Debian; tests/supabase_standins.sql stands in")
    skipped.append("vault (supabase_vault): not packaged for Debian; tests/supabase_standins.sql stands in")
    psql_command(port, ADMIN, "postgres", f"comment on database {BASE} is '{fingerprint()}'")
    if print_:
        for line in skipped:
            print(f"  not reproduced: {line}")
    return skipped


def ensure(port: int = PORT, force: bool = False) -> str:
    """Make sure the Supabase-like cluster is up with a current `supabase_base`; returns its admin URL."""
    copied = install_pgmq_files()
    if copied:
        print(f"pgmq extension files installed: {', '.join(copied)}")
    cron = _has_pg_cron()
    if _cluster_exists() and not force:
        _write_config(port, _CRON_FINAL_DATABASE if cron else None)
        if _run("pg_ctlcluster", VERSION, NAME, "status", check=False).returncode != 0:
            _ctl("start")
        _wait_ready(port)
        if _current_fingerprint(port) == fingerprint():
            print(f"Supabase-like cluster current: {admin_url(port)}")
            return admin_url(port)
    print("building the Supabase-like cluster (once per machine and reference)...")
    _create_cluster(port)
    _write_config(port, BASE if cron else None)
    _ctl("start")
    _wait_ready(port)
    build_base(port)
    if cron:
        _write_config(port, _CRON_FINAL_DATABASE)
        _ctl("restart")
        _wait_ready(port)
        psql_command(port, ADMIN, _CRON_FINAL_DATABASE, "create extension if not exists pg_cron")
    print(f"Supabase-like cluster ready: {admin_url(port)}")
    return admin_url(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--force", action="store_true", help="rebuild even when the cluster is current")
    args = parser.parse_args()
    ensure(args.port, args.force)


if __name__ == "__main__":
    main()
