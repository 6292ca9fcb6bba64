"""Operator tooling beside the pipeline, never inside a function's bundle: the CLI and its commands, the local
runner (`up`), deploy planning (bundles, wiring, secrets), the demo, the configuration reference.
"""

__all__ = [
    "bundles",
    "cli",
    "closure",
    "commands",
    "configdoc",
    "demo",
    "deployment",
    "fxload",
    "parquetexport",
    "provisioning",
    "runner",
    "schedules",
    "settings",
    "wiring",
]
