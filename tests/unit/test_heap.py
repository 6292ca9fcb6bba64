"""The dashboard freezes its start-up objects, so no request pays for a full collection walking them."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from shared.core import heap

ROOT = Path(__file__).resolve().parents[2]


def test_frozen_objects_leave_the_collected_generations() -> None:
    survivor = [object()]
    assert any(o is survivor for o in gc.get_objects())
    try:
        frozen = heap.freeze_startup_objects()
        assert frozen >= 1
        assert gc.get_freeze_count() == frozen
        assert not any(o is survivor for o in gc.get_objects())  # no generation holds it: no pass walks it
        later = [object()]
        assert any(o is later for o in gc.get_objects())  # what requests create is still collected
    finally:
        gc.unfreeze()


def test_the_dashboard_entry_module_freezes_what_it_loaded() -> None:
    code = "import gc, functions.dashboard.main; print(gc.get_freeze_count(), len(gc.get_objects()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    frozen, collected = (int(n) for n in out.stdout.split())
    assert frozen > 10 * collected, out.stdout  # the import-time heap is frozen; little is left to walk
