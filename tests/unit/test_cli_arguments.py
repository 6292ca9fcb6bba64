from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.tools import cli


def test_a_dead_letter_limit_out_of_bounds_is_an_argparse_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["dead-letters", "list", "--limit", "100000"])
    assert exited.value.code == 2
    assert "choose 1 to 10000" in capsys.readouterr().err


def test_rebuild_takes_plain_dates_as_midnight_utc_and_iso_times_with_offsets() -> None:
    args = cli.build_parser().parse_args(
        ["rebuild", "--org", "x", "--from", "2026-11-01", "--to", "2026-11-02T06:00:00+05:45"]
    )
    assert getattr(args, "from") == datetime(2026, 11, 1, tzinfo=UTC)
    assert args.to.utcoffset().total_seconds() == 5 * 3600 + 45 * 60
