"""`deploy.yaml`, read through pydantic: every function, its trigger, its environment and its runtime limits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field

DEPLOY_FILE = Path(__file__).resolve().parent.parent / "deploy.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpTrigger(_Model):
    kind: Literal["http"]
    public: bool = False


class QueueTrigger(_Model):
    kind: Literal["queue"]
    queue: str
    batch_size: int = Field(default=50, ge=1, le=1000)
    visibility_timeout_seconds: int = Field(default=30, ge=1, le=3600)


class CronTrigger(_Model):
    kind: Literal["cron"]
    schedule: str = Field(description="Five-field cron expression, in UTC")


Trigger = Annotated[HttpTrigger | QueueTrigger | CronTrigger, Discriminator("kind")]


class Runtime(_Model):
    memory: str = "512Mi"
    timeout_seconds: int = Field(default=60, ge=1, le=3600)
    concurrency: int = Field(default=1, ge=1, le=1000)
    min_instances: int = Field(default=0, ge=0)
    max_instances: int = Field(default=10, ge=1)


class EnvValue(_Model):
    """Where a variable's value comes from: a literal value or a named secret (never both)."""

    value: str | None = None
    secret: str | None = None


class Function(_Model):
    source: str
    entry_point: str = Field(min_length=1)
    trigger: Trigger
    runtime: Runtime = Runtime()
    env: dict[str, EnvValue] = Field(default_factory=dict)


class DeployFile(_Model):
    functions: dict[str, Function]


def load(path: Path = DEPLOY_FILE) -> DeployFile:
    """Read and check deploy.yaml; a pydantic.ValidationError names the function and field at fault."""
    return DeployFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
