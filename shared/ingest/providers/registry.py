"""Every webhook provider by name: the one module that imports each provider's module.

Named imports rather than importlib, so a function bundle's import closure (shared/tools/closure.py) carries
every provider; kept out of the package's `__init__`, which each provider module imports, so there is no cycle.
"""

from __future__ import annotations

from types import ModuleType

from shared.ingest import providers
from shared.ingest.providers import form, postmark, resend, sendgrid, stripe, typeform

_MODULES: dict[str, ModuleType] = {
    "stripe": stripe,
    "resend": resend,
    "sendgrid": sendgrid,
    "postmark": postmark,
    "typeform": typeform,
    "form": form,
}
assert tuple(_MODULES) == providers.PROVIDERS, "every provider in PROVIDERS has a module here, in the same order"


def get(name: str) -> providers.Provider:
    """The provider module's descriptor; KeyError for an unknown provider."""
    provider: providers.Provider = _MODULES[name].PROVIDER
    return provider
