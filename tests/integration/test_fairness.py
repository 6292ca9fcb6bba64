"""One caller cannot starve the others: live streams are capped per organization and per process, requests are
rate-limited per key, and a body that trickles in is cut off (against a function served the way `up` serves it)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from shared.core import apikeys, db, ratelimit, settings
from shared.dashboard import livefeed
from shared.tools import deployment, runner


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(livefeed, "slots", livefeed._Slots())
    ratelimit.clear()
    apikeys.cache.clear()
    settings.clear_cache()


def _env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings.clear_cache()


def _live(app: Any, key: str) -> Any:
    answer = app.get("/v1/events/live", headers={"Authorization": f"Bearer {key}"}, buffered=False)
    if answer.status_code == 200:
        next(iter(answer.response))  # the stream is open and has read its organization's version
    return answer


def test_live_streams_are_capped_per_organization_and_per_process_with_429_and_retry_after(
    dashboard_app: Any, make_org: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, DASHBOARD_LIVE_MAX_PER_ORG="2", DASHBOARD_LIVE_MAX_TOTAL="3", DASHBOARD_LIVE_POLL_MS="20")
    busy, other, late = make_org(name="Busy"), make_org(name="Other"), make_org(name="Late")
    first, second = _live(dashboard_app, busy.read_key), _live(dashboard_app, busy.read_key)
    assert first.status_code == second.status_code == 200

    refused = _live(dashboard_app, busy.read_key)
    assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 300  # when the oldest of its streams ends at the latest

    served = _live(dashboard_app, other.read_key)  # another organization is still served
    assert served.status_code == 200
    full = _live(dashboard_app, late.read_key)  # but the process holds at most three
    assert full.status_code == 429 and int(full.headers["Retry-After"]) >= 1

    stats = db.pool().get_stats()  # three open streams, all between polls: no connection is held
    assert stats["pool_size"] == stats["pool_available"], stats

    first.close()  # the client goes: its slot is free again
    assert livefeed.slots.count(busy.id) == 1
    assert _live(dashboard_app, late.read_key).status_code == 200
    for answer in (second, served):
        answer.close()


def test_the_dashboard_answers_429_with_retry_after_beyond_a_callers_rate_and_serves_other_callers(
    dashboard_app: Any, make_org: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, DASHBOARD_RATE_PER_SECOND="0.5", DASHBOARD_RATE_BURST="2")
    greedy, patient = make_org(name="Greedy"), make_org(name="Patient")
    codes = [dashboard_app.get("/v1/metrics", headers={"Authorization": f"Bearer {greedy.read_key}"}) for _ in range(3)]
    assert [a.status_code for a in codes] == [200, 200, 429]
    assert codes[2].json["error"] == "too_many_requests" and int(codes[2].headers["Retry-After"]) in (1, 2)
    other = dashboard_app.get("/v1/metrics", headers={"Authorization": f"Bearer {patient.read_key}"})
    assert other.status_code == 200


def test_ingest_answers_429_with_retry_after_beyond_a_keys_rate_and_serves_other_keys(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, INGEST_RATE_PER_SECOND="0.2", INGEST_RATE_BURST="1")
    greedy, patient = make_org(name="Greedy"), make_org(name="Patient")

    def post(key: str) -> Any:
        body = json.dumps(make_event("client.created"))
        return ingest_app.post(
            "/v1/events", data=body, headers={"Authorization": f"Bearer {key}"}, content_type="application/json"
        )

    assert post(greedy.ingest_key).status_code == 202
    refused = post(greedy.ingest_key)
    assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) in range(1, 6)
    assert post(patient.ingest_key).status_code == 202


# ----- slow bodies, over real sockets --------------------------------------------------------------------------


@pytest.fixture
def served_ingest(database_url: str) -> Iterator[str]:
    """ingest served by functions-framework (gunicorn) as `up` serves it, with two threads and a 2 s body deadline."""
    spec = deployment.load().functions["ingest"]
    fn = runner.start_function(
        "ingest",
        spec,
        database_url,
        runner.free_port(),
        {"BODY_READ_TIMEOUT_SECONDS": "2", "THREADS": "2", "INGEST_RATE_PER_SECOND": "0"},
    )
    try:
        runner.wait_ready(fn)
        yield fn.url
    finally:
        fn.stop()


class _Trickle:
    """A client that sends its headers, then its body one byte a second, and records the server's answer."""

    def __init__(self, url: str, key: str, body: bytes) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        self.body, self.answer, self.sent = body, b"", 0
        self.started = time.monotonic()
        self.answered_after: float | None = None
        self._threads = [threading.Thread(target=self._send, daemon=True), threading.Thread(target=self._read)]
        for thread in self._threads:
            thread.start()

    def _send(self) -> None:
        for byte in self.body:
            if self.answered_after is not None:
                return
            try:
                self.sock.send(bytes([byte]))
            except OSError:
                return
            self.sent += 1
            time.sleep(1.0)

    def _read(self) -> None:
        while chunk := self.sock.recv(65536):
            self.answer += chunk
        self.answered_after = time.monotonic() - self.started  # the server closed the connection

    def wait(self) -> None:
        self._threads[1].join(30)
        self.sock.close()


def test_a_body_sent_a_byte_a_second_gets_408_within_the_deadline_while_other_clients_are_served(
    served_ingest: str, make_org: Callable[..., Any], make_event: Callable[..., dict[str, Any]]
) -> None:
    org = make_org()
    body = json.dumps(make_event("client.created")).encode()
    slow = _Trickle(served_ingest, org.ingest_key, body)
    time.sleep(0.5)
    normal = requests.post(
        served_ingest + "/v1/events",
        data=body,
        headers={"Authorization": f"Bearer {org.ingest_key}", "Content-Type": "application/json"},
        timeout=20,
    )
    assert normal.status_code == 202  # served on the other thread while the slow body trickles
    slow.wait()
    assert slow.answer.startswith(b"HTTP/1.1 408"), slow.answer[:200]
    assert slow.answered_after is not None and slow.answered_after < 15  # cut at ~2 s, connection closed
    assert slow.sent < len(body)

    # Both threads pinned by trickling bodies: a normal request waits only until the deadline frees them.
    pinned = [_Trickle(served_ingest, org.ingest_key, body) for _ in range(2)]
    time.sleep(0.5)
    started = time.monotonic()
    again = requests.post(
        served_ingest + "/v1/events",
        data=body,
        headers={"Authorization": f"Bearer {org.ingest_key}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert again.status_code == 202 and time.monotonic() - started < 20
    for trickle in pinned:
        trickle.wait()
        assert trickle.answer.startswith(b"HTTP/1.1 408"), trickle.answer[:200]
