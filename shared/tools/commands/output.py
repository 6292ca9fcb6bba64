"""How commands print: human lines, or JSON for scripts."""

from __future__ import annotations

import json
from typing import Any


def emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(payload, default=str, indent=2))
    else:
        print("\n".join(lines))
