"""Encryption of stored webhook signing secrets (AES-256-GCM under WEBHOOK_SECRETS_KEY).

A signing secret has to be recoverable to compute an HMAC, so it cannot be hashed like an API key. It is
encrypted with a key that lives only in the secret manager; a database dump alone reveals nothing. The
associated data binds each ciphertext to its source, so copying one source's ciphertext onto another fails.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.core import settings

_VERSION = b"\x01"
_NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """A stored secret does not decrypt: wrong WEBHOOK_SECRETS_KEY or a tampered row."""


def _key() -> bytes:
    # Any string is accepted as the configured key; SHA-256 turns it into the 32-byte AES key.
    raw = settings.get_settings().webhook_secrets_key.get_secret_value().encode()
    return hashlib.sha256(b"wedsync-webhook-secrets\x00" + raw).digest()


def seal(secret: str, context: str) -> bytes:
    """Encrypt `secret` for the row identified by `context` (the source id)."""
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(_key()).encrypt(nonce, secret.encode(), context.encode())


def open_(sealed: bytes, context: str) -> str:
    """Decrypt what `seal` produced for the same context; raises SecretUnreadable otherwise."""
    if not sealed or sealed[:1] != _VERSION:
        raise SecretUnreadable("unknown secret format")
    nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return AESGCM(_key()).decrypt(nonce, ciphertext, context.encode()).decode()
    except InvalidTag as exc:
        raise SecretUnreadable("the secret does not decrypt with WEBHOOK_SECRETS_KEY") from exc
