"""What a deployed function checks before it serves: its settings load, and no key it uses is the public
development value.

A few keys default to a value anyone can read (in shared/core/settings.py and the stages' settings), so that
`wedsync-analytics up` and the tests run with nothing configured. On a deployed host that default would be a disaster that cannot be undone later
(PII_HASH_KEY: every pseudonym would be computed with a public key, and changing the key afterwards splits every
client's history), so each function's entry module calls `refuse_unsafe_settings` with the keys its code uses,
at import: the function fails to boot, with a message naming the settings, instead of serving requests.
"""

from __future__ import annotations

import os

from pydantic import SecretStr

from shared.core import settings


def development_defaults() -> frozenset[str]:
    """The environment variable names of every setting (of the classes loaded so far) whose default is the
    public development value."""
    return frozenset(_development_defaults())


def _development_defaults() -> dict[str, type[settings.CoreSettings]]:
    """Every setting whose default is the public development value, by environment variable name, with the
    settings class (core, or a stage's loaded in this process) that reads it."""
    found: dict[str, type[settings.CoreSettings]] = {}
    for cls in settings.classes():
        for name, field in cls.model_fields.items():
            default = field.default
            if isinstance(default, SecretStr) and default.get_secret_value() == settings.DEVELOPMENT_ONLY:
                found.setdefault(name.upper(), cls)
    return found


class UnsafeSettings(RuntimeError):
    """A deployed function was about to start with a public development key."""


def deployed() -> bool:
    """True on the serverless host (Cloud Run sets K_SERVICE for every service) or with WEDSYNC_ENV=production."""
    return bool(os.environ.get("K_SERVICE")) or settings.get_settings().wedsync_env == "production"


def still_default(*needs: str) -> list[str]:
    """Which of the named settings still hold the public development value (whether deployed or not)."""
    defaults = _development_defaults()
    unknown = sorted(set(needs) - set(defaults))
    if unknown:  # a typo in a function's entry module must fail locally too, not only once deployed
        raise ValueError(
            f"{', '.join(unknown)} have no development default; settings that do: {', '.join(sorted(defaults))}"
        )
    return [
        name
        for name in sorted(set(needs))
        if getattr(defaults[name](), name.lower()).get_secret_value() == settings.DEVELOPMENT_ONLY
    ]


def refuse_unsafe_settings(*needs: str) -> settings.CoreSettings:
    """Load the settings now, and on a deployed host raise UnsafeSettings naming each of `needs` (environment
    variable names) that still holds the development value. Locally (`up`, tests, the CLI) the defaults are fine.
    """
    conf = settings.get_settings()  # a malformed setting fails the boot here too, not the first request
    for cls in settings.classes():  # and so does one of a stage this function imported
        cls()
    found = still_default(*needs)
    if found and deployed():
        where = f"K_SERVICE={os.environ['K_SERVICE']}" if os.environ.get("K_SERVICE") else "WEDSYNC_ENV=production"
        verb = "holds" if len(found) == 1 else "hold"
        pii = " PII_HASH_KEY can never change later without splitting every client's history."
        if "PII_HASH_KEY" not in found:
            pii = ""
        raise UnsafeSettings(
            f"refusing to start ({where}): {', '.join(found)} still {verb} the public development value "
            f"'{settings.DEVELOPMENT_ONLY}'; give each its own secret in deploy.yaml (the deploy plan's "
            f"secrets.sh creates them; docs/deploy.md).{pii}"
        )
    return conf
