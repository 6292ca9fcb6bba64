"""`export events`: an organization's raw events to a file, read under its row-level security."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared.dashboard import auth, eventexport, questions, serving
from shared.tools import parquetexport


def viewer_of(org: UUID) -> auth.Viewer:
    """The organization as a dashboard reader: the export runs as role `authenticated` with its claims."""
    claims = {"role": "authenticated", "sub": "cli", "organization_id": str(org)}
    return auth.Viewer(organization_id=org, claims=claims, via="cli")


def cmd_export_events(args: argparse.Namespace) -> int:
    try:
        query = eventexport.ExportQuery.model_validate({"from": args.from_, "to": args.to})
    except ValidationError as exc:
        print(f"error: {questions.field_errors(exc)[0].msg}", file=sys.stderr)
        return 2
    viewer = viewer_of(args.org)
    with serving.as_viewer(viewer) as conn:
        org = serving.state(conn)
    start, end = eventexport.window(query, org.tz)
    out = Path(args.out)
    if args.out.endswith(".parquet"):
        with serving.as_viewer(viewer) as conn:
            rows = parquetexport.write(conn, args.org, start, end, out)
        print(f"wrote {rows} events to {out}")
        return 0
    size = 0
    with out.open("wb") as f:
        for piece in eventexport.stream(viewer, start, end):
            f.write(piece)
            size += len(piece)
    print(f"wrote {out} ({size:,} bytes, gzipped CSV)")
    return 0


def register(sub: Any) -> None:
    export = sub.add_parser("export", help="exports").add_subparsers(dest="export_command", required=True)
    events = export.add_parser("events", help="an organization's raw events as CSV.gz (or .parquet with pyarrow)")
    events.add_argument("--org", required=True, type=UUID)
    events.add_argument("--out", required=True, help="file to write: *.csv.gz, or *.parquet (needs pyarrow)")
    events.add_argument("--from", dest="from_", help="first local day (YYYY-MM-DD); default: the first event")
    events.add_argument("--to", help="last local day, included; default: the last event")
    events.set_defaults(func=cmd_export_events)
