"""Where the verbatim upstream Supabase files are: `../shared/supabase-reference/` beside the checkout (CI lays a
copy of shared/ there), or SUPABASE_REFERENCE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def root() -> Path:
    found = Path(os.environ.get("SUPABASE_REFERENCE_DIR") or _ROOT.parent / "shared" / "supabase-reference")
    if not (found / "pgmq" / "pgmq.control").is_file():
        raise FileNotFoundError(
            f"no Supabase reference files at {found}: set SUPABASE_REFERENCE_DIR to the supabase-reference folder"
        )
    return found


def pgmq_dir() -> Path:
    return root() / "pgmq"
