"""Stored webhook secrets: encrypted, bound to their source, unreadable under another key."""

from __future__ import annotations

import pytest

from shared.core import secretbox, settings


def test_sealed_secret_opens_only_for_its_own_source_and_never_contains_the_plaintext() -> None:
    sealed = secretbox.seal("whsec_very_secret", "source-a")
    assert b"whsec_very_secret" not in sealed
    assert secretbox.seal("whsec_very_secret", "source-a") != sealed  # fresh nonce each time
    assert secretbox.open_(sealed, "source-a") == "whsec_very_secret"
    with pytest.raises(secretbox.SecretUnreadable):
        secretbox.open_(sealed, "source-b")
    with pytest.raises(secretbox.SecretUnreadable):
        secretbox.open_(sealed[:-1] + bytes([sealed[-1] ^ 1]), "source-a")


def test_a_different_secrets_key_cannot_open_stored_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = secretbox.seal("whsec_very_secret", "source-a")
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY", "another-key")
    settings.clear_cache()
    try:
        with pytest.raises(secretbox.SecretUnreadable):
            secretbox.open_(sealed, "source-a")
    finally:
        monkeypatch.delenv("WEBHOOK_SECRETS_KEY")
        settings.clear_cache()
