"""Runs the previous release's ingest -> validate -> aggregate on the database DATABASE_URL names, and prints
what happened as JSON (tests/e2e/test_previous_release.py starts it and checks the database afterwards).

It runs in its own process, `python -P previous_release_pipeline.py <release tree>` with PYTHONPATH set to the
release's extracted tree, so `shared`, `functions` and `tests.factories` are that release's code, not this
checkout's; it refuses to run otherwise. It uses only what every release has: the function entry points as
functions-framework serves them, `organizations.create` and the sample events of `tests.factories`. Keep it
to that surface, so that it still runs when supabase/previous_release moves forward.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from functions_framework import create_app


def _from_release(release: Path, *modules: Any) -> None:
    for module in modules:
        origin = Path(module.__file__).resolve()
        if not origin.is_relative_to(release):
            raise SystemExit(f"{module.__name__} comes from {origin}, not from the release at {release}")


def _drain(client: Any) -> dict[str, Any]:
    """POST / until the function says the queue is empty, as the database's wake-ups would; summed totals."""
    totals: dict[str, Any] = {}
    for _ in range(20):
        answer = client.post("/")
        if answer.status_code != 200:
            raise SystemExit(f"drain answered {answer.status_code}: {answer.get_data(as_text=True)}")
        body = answer.get_json()
        for key, value in body.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
        if not body.get("more"):
            return totals
    raise SystemExit("the queue never emptied")


def main(release: Path) -> dict[str, Any]:
    import shared
    from tests import factories

    # The release's modules, in its layout (shared.db, shared.organizations), not this checkout's: typed as Any.
    db: Any = importlib.import_module("shared.db")
    organizations: Any = importlib.import_module("shared.organizations")

    _from_release(release, shared, factories)

    def client(name: str) -> Any:
        app = create_app(target=name, source=str(release / "functions" / name / "main.py"))
        return app.test_client()

    with db.transaction() as conn:
        org = organizations.create(
            conn,
            organizations.NewOrganization(name="Previous Release Weddings", timezone="Europe/London", currency="GBP"),
        )
    events = [factories.make_event(type_) for type_ in factories.SAMPLE_DATA]
    answer = client("ingest").post(
        "/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {org.ingest_key}"}
    )
    return {
        "organization_id": str(org.id),
        "sent": [event["event_id"] for event in events],
        "types": sorted({event["type"] for event in events}),
        "ingest": {"status": answer.status_code, "body": answer.get_json()},
        "validate": _drain(client("validate")),
        "aggregate": _drain(client("aggregate")),
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve())))
