"""The ingest stage: the HTTP intake of first-party events and of provider webhooks (sources, verification,
parsing), queuing the good ones durably and dead-lettering the rest. Runs as the `ingest` function.
"""

__all__ = ["document", "inflate", "intake", "providers", "settings", "webhooks"]
