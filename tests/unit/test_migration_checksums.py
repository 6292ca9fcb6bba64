"""Landed migrations never change, every migration is recorded once it lands, and versions only grow
(tests/migration_checksums.py; supabase/migrations.sha256)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shared.core import migrations
from tests import migration_checksums


def test_every_migration_is_as_recorded_when_it_landed() -> None:
    found = migration_checksums.problems()
    assert not found, "\n".join(found)


@pytest.fixture
def landed(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the migrations and their checksums to break on purpose."""
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, directory)
    checksums = tmp_path / "migrations.sha256"
    shutil.copy(migration_checksums.CHECKSUMS, checksums)
    return directory, checksums


def test_an_edited_landed_migration_is_refused(landed: tuple[Path, Path]) -> None:
    directory, checksums = landed
    with (directory / "20261125000200_organizations.sql").open("a") as f:
        f.write("\n-- an afterthought\n")
    (found,) = migration_checksums.problems(directory, checksums)
    assert found.startswith("20261125000200_organizations.sql has changed since it landed")
    assert "new migration" in found


def test_a_removed_or_renamed_landed_migration_is_refused(landed: tuple[Path, Path]) -> None:
    directory, checksums = landed
    (directory / "20261125005000_reports.sql").rename(directory / "20261125005000_report_tables.sql")
    found = migration_checksums.problems(directory, checksums)
    assert any(p.startswith("20261125005000_reports.sql has landed but is gone") for p in found)
    assert any(p.startswith("20261125005000_report_tables.sql is new but older") for p in found)


def test_a_new_migration_must_be_recorded_and_add_records_it_without_touching_the_landed_lines(
    landed: tuple[Path, Path],
) -> None:
    directory, checksums = landed
    before = checksums.read_text()
    (directory / "20991231000000_next.sql").write_text("select 1;\n")
    (found,) = migration_checksums.problems(directory, checksums)
    assert "20991231000000_next.sql is not recorded" in found and migration_checksums.ADD in found
    assert migration_checksums.add(directory, checksums) == ["20991231000000_next.sql"]
    assert checksums.read_text().startswith(before)
    assert migration_checksums.problems(directory, checksums) == []


def test_a_new_migration_older_than_the_last_landed_one_is_refused(landed: tuple[Path, Path]) -> None:
    directory, checksums = landed
    (directory / "20261125000250_in_between.sql").write_text("select 1;\n")
    (found,) = migration_checksums.problems(directory, checksums)
    assert found.startswith("20261125000250_in_between.sql is new but older than the last landed migration")
    with pytest.raises(ValueError, match=r"20261125000250_in_between\.sql"):
        migration_checksums.add(directory, checksums)


def test_the_recorded_versions_only_grow(landed: tuple[Path, Path]) -> None:
    directory, checksums = landed
    lines = checksums.read_text().splitlines()
    checksums.write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    found = migration_checksums.problems(directory, checksums)
    assert any("not in strictly increasing version order" in p for p in found)
