"""A fault-injecting HTTP proxy for tests: put it in front of a real function and script what goes wrong.

Each request that arrives takes the next fault of the plan (then `pass` once the plan is spent):

- `pass`: forwarded as is; the function's answer comes back.
- `drop_request`: the connection is closed after the request headers, before anything is forwarded.
- `drop_answer`: forwarded, the function answers (and has kept what it kept), then the connection is closed
  without the answer: the client cannot know, and must send the same request again.
- `500`: answered 500 without forwarding.
- `429`: answered 429 with `Retry-After: 1` without forwarding.
- `slow`: forwarded, the answer held back `slow_seconds` (longer than the client's timeout, in the tests).
- `restart`: forwarded, then `on_restart()` runs (the test kills the function and starts it again) before the
  answer is read: the client sees its connection dropped.

It can also serve files (`GET /<name>` from `static`) and add an `Authorization` header to what it forwards
(`inject_key`), so a browser page and its ingest are one origin, as behind the app's own relay route.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import mimetypes
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

FAULTS = ("pass", "drop_request", "drop_answer", "500", "429", "slow", "restart")


class FaultProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        slow_seconds: float = 3.0,
        on_restart: Callable[[], None] | None = None,
        static: Path | None = None,
        inject_key: str | None = None,
    ) -> None:
        self.upstream_port, self.slow_seconds, self.on_restart = upstream_port, slow_seconds, on_restart
        self.static, self.inject_key = static, inject_key
        self.applied: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self._plan: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fault-proxy")
        self.port = 0

    def plan(self, faults: Iterable[str]) -> None:
        """Faults for the next requests, in order of arrival."""
        faults = list(faults)
        assert all(f in FAULTS for f in faults), faults
        with self._lock:
            self._plan.extend(faults)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        # Connections still open (a client that gave up on a slow answer) end here, their sockets closed.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    def _next(self) -> str:
        with self._lock:
            self.requests += 1
            fault = self._plan.popleft() if self._plan else "pass"
            self.applied[fault] += 1
            return fault

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                try:
                    if not await self._one(head, reader, writer):
                        return
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client went away (it gave up on a slow answer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handle one request; whether the client connection stays open."""
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [line for line in lines[1:] if line]
        names = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in headers}
        if method == "GET" and self.static is not None:
            await self._file(target, writer)
            return False
        if method == "OPTIONS":
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return False
        fault = self._next()
        if fault == "drop_request":
            return False
        body = await reader.readexactly(int(names.get("content-length", "0")))
        if fault in ("500", "429"):
            extra = "Retry-After: 1\r\n" if fault == "429" else ""
            text = b'{"error": "injected", "message": "a fault injected by the test proxy"}'
            writer.write(
                f"HTTP/1.1 {fault} Injected\r\nContent-Type: application/json\r\n{extra}"
                f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode()
                + text
            )
            await writer.drain()
            return False
        kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in ("connection", "keep-alive")]
        if self.inject_key and "authorization" not in names:
            kept.append(f"Authorization: Bearer {self.inject_key}")
        request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            return False  # the function is down (restarting): the client sees a dropped connection
        try:
            up_writer.write(request)
            await up_writer.drain()
            if fault == "restart" and self.on_restart is not None:
                await asyncio.to_thread(self.on_restart)
            answer = await up_reader.read()
        except ConnectionError:
            return False
        finally:
            up_writer.close()
            with contextlib.suppress(ConnectionError):
                await up_writer.wait_closed()
        if fault in ("drop_answer", "restart") or not answer:
            return False
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        writer.write(answer)
        await writer.drain()
        return False

    async def _file(self, target: str, writer: asyncio.StreamWriter) -> None:
        assert self.static is not None
        path = (self.static / target.split("?")[0].lstrip("/")).resolve()
        if not path.is_file() or not path.is_relative_to(self.static.resolve()):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            data = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if path.suffix == ".js":
                kind = "text/javascript"
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + data
            )
        await writer.drain()
