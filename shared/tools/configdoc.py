"""docs/configuration.md, generated from the settings model so the reference can never drift from the code.

Regenerate with `python -m shared.tools.configdoc > docs/configuration.md`; a test fails when it is stale.
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.core.settings import Settings


def _default(value: object) -> str:
    if isinstance(value, SecretStr):
        return "a development-only value"
    if value is None:
        return "unset"
    if value == [] or value == "":
        return "empty"
    return f"`{value}`"


def render() -> str:
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable (or a line of a `.env` file), case-insensitive. Generated from",
        "`shared/core/settings.py` by `python -m shared.tools.configdoc > docs/configuration.md`; a test keeps it current.",
        "In production every secret comes from Secret Manager (see `deploy.yaml` and docs/deploy.md).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{name.upper()}` | {_default(field.default)} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
