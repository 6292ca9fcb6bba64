"""Sending a generated year through the real endpoints of a running pipeline, as its senders would.

First-party events go to `POST /v1/events` in batches with the organization's ingest key, through the sender
client (`wedsync_client.Client`: ids fixed once, dropped connections, 5xx and 429 retried); Stripe and Resend
deliveries go one by one to `POST /v1/webhooks/<provider>/<source id>`, signed as those providers sign
(Stripe: `t=<now>,v1=HMAC(t.body)`; Resend: Standard Webhooks over `<svix-id>.<now>.<body>`). The signature
timestamp is the time of sending, as it must be; the payloads' own `created` times lie in the past year, and
that is what the pipeline stores as `occurred_at`.

A few concurrent connections send; a webhook delivery that fails with a connection error or a 5xx is sent
again, signed anew (the same rule the client follows for events: nothing was kept, retry the whole request; a
retry that was in fact kept is a duplicate).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, NoReturn, TextIO
from uuid import UUID

import requests
import standardwebhooks
import wedsync_client

from shared.tools.demo import year as demo_year

BATCH_SIZE = 500
WORKERS = 4
_ATTEMPTS = 5


@dataclass(frozen=True)
class Target:
    """Where and as whom to send: the ingest base URL, an ingest key and the two webhook sources."""

    ingest_url: str
    ingest_key: str
    stripe_source: UUID
    stripe_secret: str
    resend_source: UUID
    resend_secret: str


@dataclass
class Sent:
    """What the pipeline answered: first-party accepted/duplicates/rejected, webhook deliveries queued."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0
    retries: int = 0


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, total: int, label: str = "sending", stream: TextIO | None = None, width: int = 32) -> None:
        self.total, self.label, self.stream, self.width = max(total, 1), label, stream or sys.stderr, width
        self.done, self._lock, self._started = 0, threading.Lock(), time.monotonic()
        self._tty = self.stream.isatty()
        self._last_decile = -1

    def add(self, n: int) -> None:
        with self._lock:
            self.done += n
            fraction = min(self.done / self.total, 1.0)
            if self._tty:
                self.stream.write("\r" + self._line(fraction))
                self.stream.flush()
            elif int(fraction * 10) > self._last_decile:
                self._last_decile = int(fraction * 10)
                self.stream.write(self._line(fraction) + "\n")

    def finish(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, fraction: float) -> str:
        filled = int(fraction * self.width)
        elapsed = time.monotonic() - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
            f"{self.done:,}/{self.total:,} events  {rate:,.0f}/s"
        )


def stripe_signature(body: bytes, secret: str, timestamp: int) -> str:
    """Stripe's scheme: HMAC-SHA256 of `<t>.<body>` under the endpoint secret, hex, in `t=...,v1=...`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _batches(events: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(events), size):
        yield events[i : i + size]


class _Sender:
    def __init__(self, target: Target, progress: Progress | None) -> None:
        self.target, self.progress = target, progress
        self.sent, self._lock, self._local = Sent(), threading.Lock(), threading.local()
        self.client = wedsync_client.Client(
            target.ingest_url,
            target.ingest_key,
            attempts=_ATTEMPTS,
            backoff=wedsync_client.Backoff(0.5, 5.0),
            timeout=60,
        )
        self.stopped = threading.Event()  # set by the first request that fails for good: the rest are not sent
        self.failure: str | None = None

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _post(self, url: str, body: bytes, headers: Callable[[], dict[str, str]]) -> requests.Response:
        for attempt in range(_ATTEMPTS):
            if self.stopped.is_set():
                raise RuntimeError("stopped: another request failed")
            try:
                answer = self._session().post(url, data=body, headers=headers(), timeout=60)
            except requests.ConnectionError:
                answer = None
            if answer is not None and answer.status_code < 500:
                return answer
            with self._lock:
                self.sent.retries += 1
            time.sleep(0.5 * (attempt + 1))
        self._fail(f"{url} kept failing after {_ATTEMPTS} attempts")

    def _fail(self, message: str) -> NoReturn:
        with self._lock:
            self.failure = self.failure or message
        self.stopped.set()
        raise RuntimeError(message)

    def events(self, batch: list[dict[str, Any]]) -> None:
        if self.stopped.is_set():
            return
        report = self.client.post(batch)
        if report.failed:
            failure = report.failed[0]
            self._fail(f"ingest answered {failure.status or 'nothing'}: {failure.error} {failure.message[:500]}")
        with self._lock:
            self.sent.accepted += report.accepted
            self.sent.duplicates += report.duplicates
            self.sent.retries += report.retries
            self.sent.rejected.extend({"event_id": r.event_id, "errors": r.errors} for r in report.rejected)
        if self.progress:
            self.progress.add(len(batch))

    def delivery(self, delivery: demo_year.Delivery) -> None:
        if self.stopped.is_set():
            return
        body = json.dumps(delivery.document).encode()
        source = self.target.stripe_source if delivery.provider == "stripe" else self.target.resend_source
        url = f"{self.target.ingest_url.rstrip('/')}/v1/webhooks/{delivery.provider}/{source}"

        def headers() -> dict[str, str]:  # signed at each attempt: the signature timestamp must be current
            now = datetime.now(UTC)
            if delivery.provider == "stripe":
                signature = stripe_signature(body, self.target.stripe_secret, int(now.timestamp()))
                return {"Stripe-Signature": signature, "Content-Type": "application/json"}
            signed = standardwebhooks.Webhook(self.target.resend_secret).sign(delivery.delivery_id, now, body.decode())
            return {
                "svix-id": delivery.delivery_id,
                "svix-timestamp": str(int(now.timestamp())),
                "svix-signature": signed,
                "Content-Type": "application/json",
            }

        answer = self._post(url, body, headers)
        if answer.status_code != 202:
            self._fail(f"{delivery.provider} webhook answered {answer.status_code}: {answer.text[:500]}")
        with self._lock:
            self.sent.deliveries += 1
        if self.progress:
            self.progress.add(1)


def send(
    y: demo_year.Year,
    target: Target,
    *,
    workers: int = WORKERS,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Sent:
    """Send every event and delivery of the year; returns what the pipeline answered. Raises RuntimeError as soon
    as the requests in flight end when an endpoint refuses a request (a wrong key or secret) or keeps failing
    (wrong URL, pipeline down): nothing more is sent, and what was sent is safe to send again."""
    sender = _Sender(target, progress)
    # In the order the year happened (roughly: a batch at the time of its first event), webhooks among the batches.
    jobs: list[tuple[str, int, Callable[[], None]]] = [
        (b[0]["occurred_at"], 0, partial(sender.events, b)) for b in _batches(y.events, batch_size)
    ]
    jobs += [(d.occurred_at.isoformat(), 1, partial(sender.delivery, d)) for d in y.deliveries]
    jobs.sort(key=lambda job: job[:2])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-send") as pool:
        futures = [pool.submit(job) for _, _, job in jobs]
        errors = [exc for f in futures if (exc := f.exception()) is not None]
    sender.client.close()
    if progress:
        progress.finish()
    if errors:
        raise RuntimeError(f"sending stopped: {sender.failure or errors[0]}")
    return sender.sent
