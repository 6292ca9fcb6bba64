"""Keep the garbage collector's full passes off a serving function's request path.

CPython's oldest-generation collection walks every tracked object in the process. After the imports a
dashboard instance holds ~140,000 of them (flask, pydantic schemas, psycopg, the route table), none of which
will ever be garbage, so a request that happens to trigger a full pass paused for ~140-170 ms on this
machine: that one request was the 365-day series' cold p99 in bench/api.py (one slow request of 30).
`freeze_startup_objects`, called once when the entry module has finished loading, moves them into the
permanent generation (`gc.freeze`), which no collection visits; later passes only walk what requests create.
Reference cycles created after start-up are still collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect what start-up left as garbage, then freeze every surviving object; returns how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
