"""The event catalog: the contract with every sender. The envelope and field types, one module per event family,
the union with its checks (events), currencies and the pseudonymisation of personal data.
"""

__all__ = [
    "app",
    "clients",
    "currencies",
    "emails",
    "envelope",
    "events",
    "forms",
    "journeys",
    "notifications",
    "payments",
    "privacy",
    "reviews",
]
