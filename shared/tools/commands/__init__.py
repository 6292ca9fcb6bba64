"""The operator's commands, one module per topic; each registers its subcommands with `register(sub)`."""

from __future__ import annotations

__all__ = ["aggregation", "alerts", "core", "demo", "deploy", "exchange", "exports", "quality", "reports", "sources"]
