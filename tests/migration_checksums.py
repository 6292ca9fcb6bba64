"""Landed migrations never change: `supabase/migrations.sha256` records each one's sha256 when it lands.

A database that has applied a migration never runs it again, so an edit to a landed file reaches no existing
database: production and a fresh one would differ without anyone noticing. The next migration alters instead.
tests/unit/test_migration_checksums.py holds the recorded checksums against the files. The list is in
`sha256sum` format, so `cd supabase/migrations && sha256sum --check ../migrations.sha256` verifies it too.

    python -m tests.migration_checksums --add    # record the migrations written since the last one landed
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from shared.core import migrations
from shared.tools import runner

CHECKSUMS = runner.ROOT / "supabase" / "migrations.sha256"
ADD = "python -m tests.migration_checksums --add"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded(checksums: Path = CHECKSUMS) -> list[tuple[str, str]]:
    """(file name, sha256) of every landed migration, in the order they were recorded."""
    entries = []
    for number, line in enumerate(checksums.read_text(encoding="utf-8").splitlines(), 1):
        checksum, separator, name = line.partition("  ")
        if not separator or len(checksum) != 64:
            raise ValueError(f"{checksums.name}:{number}: expected '<sha256>  <file name>', got {line!r}")
        entries.append((name, checksum))
    return entries


def problems(directory: Path = migrations.MIGRATIONS_DIR, checksums: Path = CHECKSUMS) -> list[str]:
    """Everything that breaks the rule, each with what to do about it; empty when the migrations are as recorded."""
    found = {m.path.name: m for m in migrations.discover(directory)}
    landed = recorded(checksums)
    out = []
    versions = [name.split("_", 1)[0] for name, _ in landed]
    if versions != sorted(set(versions)):
        out.append(f"{checksums.name} is not in strictly increasing version order: {versions}")
    for name, checksum in landed:
        if name not in found:
            out.append(
                f"{name} has landed but is gone: databases have applied it, so it stays as it was (a rename is a "
                "removal too). To undo what it did, write a new migration."
            )
        elif digest(found[name].path) != checksum:
            out.append(
                f"{name} has changed since it landed (sha256 {checksum[:12]}... recorded, "
                f"{digest(found[name].path)[:12]}... now). Databases that applied it will never see the change: "
                "restore it and make the change in a new migration. (If it never left your branch, remove its "
                f"line from {checksums.name} and run `{ADD}` again.)"
            )
    last = max(versions, default="")
    for name, migration in sorted(found.items()):
        if name in dict(landed):
            continue
        if migration.version <= last:
            out.append(
                f"{name} is new but older than the last landed migration ({last}): a database migrated since would "
                "apply it after newer ones, and `supabase db push` refuses it. Give it a version after the last one "
                f"(rename the file), then run `{ADD}`."
            )
        else:
            out.append(
                f"{name} is not recorded in {checksums.name}. Once it is final, record it: `{ADD}` "
                "(and regenerate supabase/schema.sql: docs/architecture-schema.md)."
            )
    return out


def add(directory: Path = migrations.MIGRATIONS_DIR, checksums: Path = CHECKSUMS) -> list[str]:
    """Append every migration newer than the last recorded one; recorded lines are never rewritten. Returns the
    file names added; refuses (ValueError) when an unrecorded migration is not newer than the last landed one."""
    landed = dict(recorded(checksums))
    last = max((name.split("_", 1)[0] for name in landed), default="")
    new = [m for m in migrations.discover(directory) if m.path.name not in landed]
    older = [m.path.name for m in new if m.version <= last]
    if older:
        raise ValueError(f"not newer than the last landed migration ({last}): {', '.join(older)}")
    with checksums.open("a", encoding="utf-8") as out:
        for migration in new:
            out.write(f"{digest(migration.path)}  {migration.path.name}\n")
    return [m.path.name for m in new]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.migration_checksums", description=__doc__.splitlines()[0])
    parser.add_argument("--add", action="store_true", help="record the migrations newer than the last recorded one")
    args = parser.parse_args(argv)
    if args.add:
        try:
            added = add()
        except ValueError as exc:
            print(exc)
            return 1
        print("\n".join(f"recorded {name}" for name in added) or "nothing new to record")
        return 0
    found = problems()
    print("\n".join(found) or "every migration is as recorded")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
