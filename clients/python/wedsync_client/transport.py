"""One persistent HTTP/1.1 connection per sending thread, for one URL: a POST is one write of bytes built ahead
and one read of the answer, with nothing else on the way.

A general HTTP library spends most of a small request's CPU on what a sender of one kind of request never
needs (merging settings, cookies, hooks, a connection pool, header objects), which is more than the request's
own work in ingest. The connection is made by the standard library (`http.client`: TLS with the system's
certificates, a `CONNECT` tunnel through `HTTPS_PROXY`), then held and reused; a connection the server closed
while idle is noticed before it is used and made again. Anything that goes wrong on the way raises `OSError`
(`ConnectionError` when the answer was cut short), so the caller retries the same request.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import BinaryIO

# Bounds on what an answer may hold before it is read: a broken or hostile peer cannot make the client buffer
# without end (the same bounds `http.client` keeps).
_MAX_LINE = 65536
_MAX_HEADERS = 100
_DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "wedsync-client/0.1"


class Dropped(ConnectionError):
    """The connection ended, or sent something that is not HTTP, before a whole answer came."""


@dataclass(frozen=True)
class Reply:
    status: int
    retry_after: str | None
    body: bytes


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    proxy: urllib.parse.SplitResult | None

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def _target(url: str) -> _Target:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"the ingest URL must be http:// or https:// with a host (got {url!r})")
    proxy_url = urllib.request.getproxies().get(parts.scheme)
    proxy = None
    if proxy_url and not urllib.request.proxy_bypass(parts.hostname):
        proxy = urllib.parse.urlsplit(proxy_url if "://" in proxy_url else "http://" + proxy_url)
    return _Target(parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme], parts.path or "/", proxy)


def _proxy_headers(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    return {"Proxy-Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Connection:
    """POSTs to one URL over one kept-alive connection. Not for sharing between threads: one per thread."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None
        self.target, self.timeout = _target(url), timeout
        target = self.target
        # Through a plain HTTP proxy the request names the whole URL; through a tunnel (https), only the path.
        plain_proxy = target.proxy is not None and target.scheme == "http"
        request_target = f"http://{target.authority}{target.path}" if plain_proxy else target.path
        fixed = {
            "Host": target.authority,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **(_proxy_headers(target.proxy) if plain_proxy and target.proxy else {}),
            **headers,
        }
        lines = [f"POST {request_target} HTTP/1.1", *(f"{k}: {v}" for k, v in fixed.items()), "Content-Length: "]
        self._head = "\r\n".join(lines).encode("latin-1")

    def post(self, body: bytes) -> Reply:
        """One request and its whole answer; raises `OSError` when no whole answer came (the connection is then
        closed, and the next call makes a new one)."""
        sock, reader = self._sock, self._reader
        if sock is None or reader is None or _closed_by_peer(sock):
            sock, reader = self._connect()
        try:
            sock.sendall(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            reply, keep = _read_reply(reader)
        except BaseException:
            self.close()
            raise
        if not keep:
            self.close()
        return reply

    def __del__(self) -> None:
        # A thread's connection is dropped with the thread (its `threading.local`), often without `close()`.
        self.close()

    def close(self) -> None:
        sock, reader, self._sock, self._reader = self._sock, self._reader, None, None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        self.close()
        target = self.target
        proxy = target.proxy
        host, port = (proxy.hostname or "", proxy.port or 80) if proxy else (target.host, target.port)
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=ssl.create_default_context())
            if proxy is not None:
                conn.set_tunnel(target.host, target.port, _proxy_headers(proxy))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            conn.connect()  # TCP_NODELAY, the tunnel and TLS (with the target's name) as the standard library does
        except BaseException:
            conn.close()
            raise
        sock, conn.sock = conn.sock, None  # ours from here on
        assert sock is not None
        self._sock, self._reader = sock, sock.makefile("rb")
        return self._sock, self._reader


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether an idle kept-alive connection was closed by the server (or has something unasked to read, which
    makes it unusable too): readable before a request was sent."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if not line:
        raise Dropped("the connection closed before the whole answer came")
    if len(line) > _MAX_LINE:
        raise Dropped("an answer line is too long")
    return line


def _read_reply(reader: BinaryIO) -> tuple[Reply, bool]:
    """The answer and whether the connection may carry another request."""
    while True:
        version, _, rest = _line(reader).partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise Dropped(f"not an HTTP/1.x answer: {version[:20]!r}")
        status = int(code)
        headers: dict[bytes, bytes] = {}
        for _ in range(_MAX_HEADERS + 1):
            line = _line(reader)
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        else:
            raise Dropped(f"an answer has more than {_MAX_HEADERS} header lines")
        if status >= 200:
            break  # 1xx answers are interim: the real one follows
    keep = b"close" not in headers.get(b"connection", b"").lower() and (
        version != b"HTTP/1.0" or b"keep-alive" in headers.get(b"connection", b"").lower()
    )
    if status in (204, 304):
        body = b""  # no body, whatever the headers say (RFC 9112, 6.3)
    elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body = _read_chunked(reader)
    elif b"content-length" in headers:
        length = headers[b"content-length"]
        if not length.isdigit():
            raise Dropped(f"a Content-Length that is not a number: {length[:20]!r}")
        body = reader.read(int(length))
        if len(body) < int(length):
            raise Dropped("the connection closed before the whole answer came")
    else:
        body, keep = reader.read(), False  # the answer ends with the connection
    retry_after = headers.get(b"retry-after")
    return Reply(status, retry_after.decode("latin-1") if retry_after is not None else None, body), keep


def _read_chunked(reader: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_text = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Dropped(f"a chunk size that is not a number: {size_text[:20]!r}") from None
        if size == 0:
            while _line(reader) not in (b"\r\n", b"\n"):  # trailers, if any
                pass
            return b"".join(chunks)
        chunk = reader.read(size)
        if len(chunk) < size:
            raise Dropped("the connection closed before the whole answer came")
        chunks.append(chunk)
        _line(reader)  # the CRLF after each chunk
