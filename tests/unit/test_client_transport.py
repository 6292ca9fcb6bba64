"""The sender client's answer reader: where an answer ends decides whether the kept-alive connection can carry
the next request, so each way HTTP/1.1 ends a body is read exactly (RFC 9112, section 6.3)."""

from __future__ import annotations

import io

import pytest
from wedsync_client import transport


def _read(raw: bytes) -> tuple[transport.Reply, bool, bytes]:
    reader = io.BytesIO(raw)
    reply, keep = transport._read_reply(reader)
    return reply, keep, reader.read()


def test_a_content_length_answer_is_read_to_its_length_and_leaves_the_next_answer_unread() -> None:
    reply, keep, rest = _read(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n")
    assert (reply.status, reply.body, keep, rest) == (202, b"{}", True, b"HTTP/1.1 200 OK\r\n")


def test_a_chunked_answer_is_joined_and_its_trailers_skipped() -> None:
    raw = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n3;x=y\r\na":\r\n0\r\nT: 1\r\n\r\nnext'
    reply, keep, rest = _read(raw)
    assert (reply.body, keep, rest) == (b'{"a":', True, b"next")


@pytest.mark.parametrize("status", [204, 304])
def test_a_no_content_answer_has_no_body_even_without_a_length(status: int) -> None:
    reply, keep, rest = _read(f"HTTP/1.1 {status} X\r\n\r\nHTTP/1.1 202 Accepted\r\n".encode())
    assert (reply.status, reply.body, keep) == (status, b"", True)
    assert rest == b"HTTP/1.1 202 Accepted\r\n"


def test_interim_answers_are_skipped_and_retry_after_is_kept() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n"
    reply, keep, _ = _read(raw)
    assert (reply.status, reply.retry_after, keep) == (429, "3", True)


def test_connection_close_or_an_unframed_body_ends_the_connection() -> None:
    assert _read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[1] is False
    reply, keep, _ = _read(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
    assert (reply.body, keep) == (b"until the end", False)


def test_a_cut_answer_raises_so_the_request_is_retried() -> None:
    with pytest.raises(transport.Dropped):
        _read(b"HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\n{}")
    with pytest.raises(transport.Dropped):
        _read(b"garbage\r\n\r\n")
