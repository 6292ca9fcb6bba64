"""The README's first command, `wedsync-analytics up --demo`: the pipeline starts, the demo runs through it and the
headline numbers are printed (then `--exit-after` stops it, where a user would keep it running)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.core import settings
from shared.tools import cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # ~25 s on the busy 2-core machine: up --demo


def test_up_with_demo_starts_the_pipeline_sends_the_demo_and_prints_the_headline(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEDSYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REFRESH_DEBOUNCE_SECONDS", "1")
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path / "reports"))
    settings.clear_cache()
    code = cli.main(["up", "--demo", "--months", "1", "--seed", "4", "--end-day", "2026-06-01", "--exit-after", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "WedSync Analytics is running:" in out
    assert "demo: Rose & Thorn Photography, 2026-05-01 to 2026-05-31, seed 4:" in out
    assert ", 0 rejected," in out and "counted: every event is in the rollups" in out
    assert "Rose & Thorn Photography (demo: seed 4, 2026-05-01 to 2026-05-31)" in out
    assert "  revenue GBP     gross " in out and "  inquiries " in out
    assert "  revenue in GBP gross " in out and "ECB reference rates of each day" in out  # rates loaded by the demo
    assert "1 monthly report(s) written to" in out and "May 2026" in out
    assert sorted(p.suffix for p in (tmp_path / "reports").rglob("*.*")) == [".csv", ".html", ".pdf"]
