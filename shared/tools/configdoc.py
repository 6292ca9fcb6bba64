"""docs/configuration.md, generated from the settings models so the reference can never drift from the code.

Settings are grouped as the functions load them: the platform's (every function), then each stage's, headed with
the functions whose code reads them (computed from each function's imports, as its bundle is).
Regenerate with `python -m shared.tools.configdoc > docs/configuration.md`; a test fails when it is stale.
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.aggregate import settings as aggregate_settings
from shared.core import settings, startup
from shared.dashboard import settings as dashboard_settings
from shared.ingest import settings as ingest_settings
from shared.monitor import settings as monitor_settings
from shared.refresh import settings as refresh_settings
from shared.report import settings as report_settings
from shared.tools import closure, deployment
from shared.tools import settings as tools_settings

# Each stage's settings module, by the package that owns it.
STAGES: dict[str, type[settings.CoreSettings]] = {
    "shared.ingest": ingest_settings.IngestSettings,
    "shared.aggregate": aggregate_settings.AggregateSettings,
    "shared.refresh": refresh_settings.RefreshSettings,
    "shared.dashboard": dashboard_settings.DashboardSettings,
    "shared.report": report_settings.ReportSettings,
    "shared.monitor": monitor_settings.MonitorSettings,
    "shared.tools": tools_settings.ToolsSettings,
}


def development_defaults() -> frozenset[str]:
    """Every setting of every stage whose default is the public development value (all are imported here)."""
    return startup.development_defaults()


def _default(value: object) -> str:
    if isinstance(value, SecretStr):
        return "a development-only value"
    if value is None:
        return "unset"
    if value == [] or value == "":
        return "empty"
    return f"`{value}`"


def _readers() -> dict[str, list[str]]:
    """For each stage package, the deploy.yaml functions whose imports reach its settings module."""
    spec = deployment.load()
    found: dict[str, list[str]] = {package: [] for package in STAGES}
    for name, fn in spec.functions.items():
        reached = closure.of(deployment.ROOT / fn.source, deployment.ROOT).modules
        for package in STAGES:
            if f"{package}.settings" in reached:
                found[package].append(name)
    return found


def _table(cls: type[settings.CoreSettings], own_only: bool) -> list[str]:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    inherited = set(settings.CoreSettings.model_fields) if own_only else set()
    for name, field in cls.model_fields.items():
        if name in inherited:
            continue
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{name.upper()}` | {_default(field.default)} | {meaning} |")
    return lines


def render() -> str:
    readers = _readers()
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable (or a line of a `.env` file), case-insensitive. Generated from",
        "the settings models (`shared/core/settings.py` and each stage's `shared/<stage>/settings.py`) by",
        "`python -m shared.tools.configdoc > docs/configuration.md`; a test keeps it current. A function loads only",
        "the platform's settings and those of the stages it runs, so another stage's setting never stops it.",
        "In production every secret comes from Secret Manager (see `deploy.yaml` and docs/deploy.md).",
        "",
        "## Platform (every function)",
        "",
        *_table(settings.CoreSettings, own_only=False),
    ]
    for package, cls in STAGES.items():
        users = ", ".join(f"`{n}`" for n in readers[package]) or "no function (operator tooling only)"
        lines += ["", f"## {package.removeprefix('shared.')} ({users})", "", *_table(cls, own_only=True)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
