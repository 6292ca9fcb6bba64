"""Decoding gzip request bodies without trusting them: the limits hold on the decoded size and the ratio."""

from __future__ import annotations

import zlib

_CHUNK = 64 * 1024


class TooLarge(ValueError):
    """The decoded body is over the size limit, or it expands more than any honest body does."""


class BadGzip(ValueError):
    """The body is not a complete gzip stream."""


def gunzip(data: bytes, max_bytes: int, max_ratio: int) -> bytes:
    """The decoded body; never inflates more than `max_bytes` + one chunk, whatever the stream claims.

    Raises TooLarge past `max_bytes` or past `max_ratio` times the compressed size (a decompression bomb),
    BadGzip for anything that is not one complete gzip member.
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    ceiling = min(max_bytes, max(len(data), 1) * max_ratio)
    out = bytearray()
    pending = data
    try:
        while pending:
            out += inflater.decompress(pending, _CHUNK)
            if len(out) > ceiling:
                break
            pending = inflater.unconsumed_tail
        if len(out) <= ceiling:
            out += inflater.flush(_CHUNK)
    except zlib.error as exc:
        raise BadGzip(f"the body is not valid gzip: {exc}") from None
    if len(out) > max_bytes:
        raise TooLarge(f"the decoded body is over {max_bytes} bytes")
    if len(out) > ceiling:
        raise TooLarge(f"the body expands more than {max_ratio} times when decoded; refused as a compression bomb")
    if not inflater.eof or inflater.unused_data:
        raise BadGzip("the body is not one complete gzip stream")
    return bytes(out)
