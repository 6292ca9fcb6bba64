"""Every dashboard test starts with a fresh database, a known JWT secret and empty caches."""

from __future__ import annotations

import pytest

from shared.core import apikeys, settings
from shared.dashboard import answercache, auth
from tests.integration.dashboard.support import SECRET


@pytest.fixture(autouse=True)
def _fresh(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings.clear_cache()
    answercache.cache.clear()
    apikeys.cache.clear()
    auth.jwks.clear()
