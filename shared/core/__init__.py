"""The platform under every stage, knowing none of them: database access that works through Supabase's pooler,
pgmq queues, settings, the migration runner, named SQL, HTTP plumbing, errors (transient or terminal), the
contracts between stages, health and start-up checks, organizations and their keys, dead letters, counters.
"""

__all__ = [
    "apikeys",
    "contracts",
    "db",
    "deadletters",
    "embedded",
    "errors",
    "health",
    "http",
    "migrations",
    "organizations",
    "queries",
    "queues",
    "ratelimit",
    "requestbody",
    "secretbox",
    "settings",
    "startup",
    "stats",
]
