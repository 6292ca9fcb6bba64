"""The TypeScript package, built as CI builds it (`npm ci`, the generated types checked against the schema,
`tsc`, its own node:test suite, `npm pack`), then sent through the real ingest function behind the
fault-injecting proxy: every event stored exactly once, every rejection handed to the caller."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import faultproxy, npm, senders

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_npm_pack_makes_a_package_with_the_compiled_code_and_its_types_only(
    typescript_package: Path, tmp_path: Path
) -> None:
    packed = json.loads(npm.run("pack", "--json", "--pack-destination", str(tmp_path)))[0]
    with tarfile.open(tmp_path / packed["filename"]) as tar:
        names = set(tar.getnames())
    assert {"package/dist/index.js", "package/dist/index.d.ts", "package/dist/events.d.ts"} <= names
    assert not any("/src/" in n or "node_modules" in n or "/test/" in n for n in names)
    manifest = json.loads((typescript_package / "package.json").read_text())
    assert "dependencies" not in manifest and manifest["type"] == "module"
    print(f"npm pack: {packed['filename']} {packed['size']} bytes packed, {packed['unpackedSize']} unpacked")


def test_the_typescript_sender_stores_every_event_once_through_faults_and_a_restart(
    typescript_package: Path,
    database_url: str,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    org = make_org()
    events, refused = senders.batch("ts", good=100, bad=5)
    (tmp_path / "events.json").write_text(json.dumps({"events": events, "refused": sorted(refused)}))
    with senders.ingest(database_url) as ingest, faultproxy.FaultProxy(ingest.port, on_restart=ingest.restart) as proxy:
        proxy.plan(["drop_request", "500", "429", "drop_answer", "slow", "restart", "drop_answer", "500", "slow"])
        npm.run(
            "run",
            "test:e2e",
            env={
                "WEDSYNC_ENDPOINT": proxy.url + "/v1/events",
                "WEDSYNC_KEY": org.ingest_key,
                "WEDSYNC_EVENTS": str(tmp_path / "events.json"),
                "WEDSYNC_RESULT": str(tmp_path / "result.json"),
            },
        )
        assert ingest.restarts == 1
    assert set(proxy.applied) == set(faultproxy.FAULTS)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ids"] == [e["event_id"] for e in events]  # the ids given are kept
    assert sorted(result["heard"]) == sorted(refused)
    stored = senders.stored_counts(conn, org.id)
    assert set(stored) == {e["event_id"] for e in events} - refused
    assert set(stored.values()) == {1}
