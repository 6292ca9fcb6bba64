"""The dashboard function: questions (query models), serving under row-level security with the answer cache,
the answers, routes and OpenAPI, user and key authentication, the live feed and the pipeline status.
"""

__all__ = [
    "answercache",
    "answers",
    "auth",
    "eventexport",
    "livefeed",
    "openapi",
    "pipelinestatus",
    "questions",
    "routes",
    "serving",
    "settings",
]
