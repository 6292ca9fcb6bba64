"""Fixtures of the end-to-end tier shared by several modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import npm


@pytest.fixture(scope="session")
def typescript_package() -> Path:
    """The TypeScript client built once per session: npm ci, build, and its own tests passed."""
    return npm.build()
