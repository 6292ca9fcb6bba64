"""`deploy.yaml`, read through pydantic: every function, its trigger, its environment and its runtime limits.

`load()` guarantees more than the shape: every entry point is defined in its source file (read with `ast`, the
code is never imported), every queue a function drains is created by a migration, every schedule is valid
five-field cron, every environment variable says where its value comes from, every function the database
invokes is guarded by INVOKE_SECRET, and every key a function's code refuses to start without (its
`startup.refuse_unsafe_settings(...)` call) is given to it. Anything wrong raises `DeployError`, whose lines each name the function,
the field and what is allowed, so one run of `wedsync-analytics deploy check` lists every mistake at once.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.tools import schedules

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_FILE = ROOT / "deploy.yaml"
MIGRATIONS = Path("supabase") / "migrations"

TRIGGER_KINDS = ("http", "queue", "cron")
_FUNCTION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,255}(:(latest|[1-9][0-9]*))?$")
_MEMORY = re.compile(r"^[1-9][0-9]*(Mi|Gi)$")
# Cloud Run sets these itself and refuses a deployment that sets them.
_RESERVED_ENV = {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpTrigger(_Model):
    kind: Literal["http"]
    public: bool = Field(default=False, description="Reachable by anyone (the function checks its own keys)")


class QueueTrigger(_Model):
    kind: Literal["queue"]
    queue: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,46}$")
    batch_size: int = Field(default=50, ge=1, le=1000)
    visibility_timeout_seconds: int = Field(default=30, ge=1, le=3600)
    path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", description="Where the database POSTs")


class CronTrigger(_Model):
    kind: Literal["cron"]
    schedule: str = Field(description="Five-field cron expression, in UTC")
    path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", description="Where the scheduler POSTs")

    @field_validator("schedule")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        return schedules.check(value)


Trigger = Annotated[HttpTrigger | QueueTrigger | CronTrigger, Discriminator("kind")]


class Runtime(_Model):
    memory: str = Field(default="512Mi", pattern=_MEMORY.pattern)
    cpu: float | None = Field(default=None, ge=0.08, le=8, description="vCPUs; unset: the platform default")
    timeout_seconds: int = Field(default=60, ge=1, le=3600)
    concurrency: int = Field(default=1, ge=1, le=1000)
    min_instances: int = Field(default=0, ge=0)
    max_instances: int = Field(default=10, ge=1)

    @property
    def effective_cpu(self) -> float | None:
        """Cloud Run serves more than one request per instance only with at least one vCPU."""
        if self.cpu is None and self.concurrency > 1:
            return 1.0
        return self.cpu


class EnvValue(_Model):
    """Where a variable's value comes from: a literal value or a named secret (never both)."""

    value: str | None = None
    secret: str | None = Field(
        default=None, pattern=_SECRET.pattern, description="Secret Manager secret name, optionally ':<version>'"
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> EnvValue:
        if (self.value is None) == (self.secret is None):
            given = "both" if self.value is not None else "neither"
            raise ValueError(
                f"{given} of 'value' and 'secret' given; give exactly one: 'value' (a literal) "
                "or 'secret' (a Secret Manager secret name)"
            )
        return self


class Function(_Model):
    source: str
    entry_point: str = Field(min_length=1)
    trigger: Trigger
    runtime: Runtime = Runtime()
    env: dict[str, EnvValue] = Field(default_factory=dict)

    @property
    def invoked_by_database(self) -> bool:
        return self.trigger.kind in ("queue", "cron")


class Platform(_Model):
    region: str = Field(default="europe-west2", pattern=r"^[a-z]+-[a-z]+[0-9]+$")
    runtime: Literal["python311"] = "python311"


class DeployFile(_Model):
    platform: Platform = Platform()
    functions: dict[str, Function]


@dataclass(frozen=True)
class Issue:
    """One thing wrong in deploy.yaml."""

    function: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"function '{self.function}', " if self.function else ""
        return f"{where}field '{self.field}': {self.message}"


class DeployError(ValueError):
    """deploy.yaml is wrong; `issues` lists every mistake found."""

    def __init__(self, path: Path, issues: list[Issue]) -> None:
        self.path = path
        self.issues = issues
        super().__init__(f"{path.name}: {len(issues)} problem(s)\n" + "\n".join(f"  {i}" for i in issues))


def _fields_of(loc: tuple[str | int, ...]) -> list[str]:
    """The fields allowed at the model a pydantic location points into (for 'unknown field' errors)."""
    model: Any = DeployFile
    steps = list(loc[:-1])
    while steps:
        step = steps.pop(0)
        if model is DeployFile and step == "functions":
            model, steps = (Function, steps[1:]) if steps else (None, [])
        elif model is Function and step == "trigger":
            kinds = {"http": HttpTrigger, "queue": QueueTrigger, "cron": CronTrigger}
            model = kinds.get(str(steps.pop(0))) if steps else None
        elif model is Function and step == "env":
            model, steps = (EnvValue, steps[1:]) if steps else (None, [])
        elif isinstance(model, type) and issubclass(model, BaseModel) and step in model.model_fields:
            annotation = model.model_fields[str(step)].annotation
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        else:
            model = None
        if model is None:
            return []
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _issue_from(error: Any) -> Issue:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    function = str(loc[1]) if len(loc) > 1 and loc[0] == "functions" else None
    rest = list(loc[2:] if function else loc)
    if len(rest) > 1 and rest[0] == "trigger" and rest[1] in TRIGGER_KINDS:
        rest.pop(1)  # pydantic puts the union's tag in the path; people think of trigger.<field>
    field = ".".join(str(p) for p in rest) or "functions"
    kind, message = error["type"], str(error["msg"]).removeprefix("Value error, ")
    allowed = ", ".join(TRIGGER_KINDS)
    if kind == "union_tag_invalid":
        field, message = "trigger.kind", f"unknown trigger kind {error['ctx']['tag']!r}; allowed: {allowed}"
    elif kind == "union_tag_not_found":
        field, message = "trigger.kind", f"missing; allowed: {allowed}"
    elif kind == "missing":
        message = "required, but missing"
    elif kind == "extra_forbidden":
        fields = _fields_of(loc)
        message = "unknown field" + (f"; allowed: {', '.join(fields)}" if fields else "")
    elif kind == "string_pattern_mismatch":
        message = f"{error['input']!r} does not match {error['ctx']['pattern']}"
    return Issue(function, field, message)


def _defined_names(tree: ast.Module) -> set[str]:
    """Top-level names a module defines (functions, classes, assignments), read without importing it."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _refused_defaults(tree: ast.Module) -> set[str]:
    """The settings a function module names in its top-level `startup.refuse_unsafe_settings(...)` call: on a
    deployed host it refuses to start while any of them holds the development value, so each must be given."""
    names: set[str] = set()
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute | ast.Name):
            called = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
            if called == "refuse_unsafe_settings":
                names.update(a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return names


_CREATE = re.compile(
    r"pgmq\s*\.\s*create(?:_unlogged|_partitioned|_non_partitioned)?\s*\(\s*"
    r"(?:queue_name\s*=>\s*)?'([^']+)'",
    re.IGNORECASE,
)
_DROP = re.compile(r"pgmq\s*\.\s*drop_queue\s*\(\s*(?:queue_name\s*=>\s*)?'([^']+)'", re.IGNORECASE)


def migrated_queues(migrations_dir: Path) -> set[str]:
    """Queues the migrations leave behind: created with pgmq.create*(), minus later pgmq.drop_queue()."""
    queues: set[str] = set()
    for path in sorted(migrations_dir.glob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        for match in sorted([*_CREATE.finditer(text), *_DROP.finditer(text)], key=lambda m: m.start()):
            (queues.add if match.re is _CREATE else queues.discard)(match[1])
    return queues


def _check_function(name: str, fn: Function, root: Path, queues: set[str]) -> list[Issue]:
    issues: list[Issue] = []

    def bad(field: str, message: str) -> None:
        issues.append(Issue(name, field, message))

    if not _FUNCTION_NAME.match(name):
        bad(
            "name",
            "function names are 2-63 lowercase letters, digits and hyphens, starting with a letter (Cloud Run's rule)",
        )
    elif name == "supabase":
        bad("name", "'supabase' is reserved: `deploy plan` writes the database wiring there")
    source = Path(os.path.normpath(root / fn.source))  # normpath, not resolve: symlinked folders are fine
    if source.suffix != ".py" or not source.is_relative_to(root):
        bad("source", f"'{fn.source}' must be a .py file inside the project")
    elif not source.is_file():
        bad("source", f"'{fn.source}' does not exist (paths are relative to deploy.yaml)")
    else:
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        except SyntaxError as exc:
            bad("source", f"'{fn.source}' is not valid Python: {exc.msg} (line {exc.lineno})")
        else:
            defined = _defined_names(tree)
            for var in sorted(_refused_defaults(tree) - set(fn.env)):
                bad(
                    f"env.{var}",
                    f"required: {fn.source} refuses to start on a deployed host without its own {var} "
                    "(its development default is public); give it as {secret: <name>}",
                )
            if fn.entry_point not in defined:
                bad(
                    "entry_point",
                    f"'{fn.entry_point}' is not defined at the top level of {fn.source}; "
                    f"defined there: {', '.join(sorted(defined)) or 'nothing'}",
                )
    if isinstance(fn.trigger, QueueTrigger) and fn.trigger.queue not in queues:
        bad(
            "trigger.queue",
            f"no migration creates queue '{fn.trigger.queue}' (with pgmq.create); "
            f"queues the migrations create: {', '.join(sorted(queues)) or 'none'}",
        )
    for var in fn.env:
        if not _ENV_NAME.match(var):
            bad(f"env.{var}", "variable names are upper-case letters, digits and underscores")
        elif var in _RESERVED_ENV:
            bad(f"env.{var}", f"set by the platform itself; reserved: {', '.join(sorted(_RESERVED_ENV))}")
    if "DATABASE_URL" not in fn.env:
        bad("env.DATABASE_URL", "required: deployed functions have no embedded database; give it as {secret: <name>}")
    if fn.invoked_by_database:
        guard = fn.env.get("INVOKE_SECRET")
        if guard is None or guard.secret is None:
            bad(
                "env.INVOKE_SECRET",
                f"a {fn.trigger.kind} function is invoked by the database over the "
                "internet, so it must check the invoke secret; "
                "give it as {secret: <name>}",
            )
    rt = fn.runtime
    if rt.min_instances > rt.max_instances:
        bad("runtime.min_instances", f"{rt.min_instances} is more than max_instances ({rt.max_instances})")
    if rt.cpu is not None and rt.cpu < 1 and rt.concurrency > 1:
        bad("runtime.cpu", f"concurrency {rt.concurrency} needs at least 1 vCPU; allowed: cpu >= 1, or concurrency 1")
    return issues


def check(spec: DeployFile, root: Path = ROOT) -> list[Issue]:
    """Everything pydantic cannot see from the YAML alone: sources, entry points, queues, secrets."""
    root = root.resolve()
    queues = migrated_queues(root / MIGRATIONS)
    issues: list[Issue] = []
    drained_by: dict[str, str] = {}
    for name, fn in spec.functions.items():
        issues += _check_function(name, fn, root, queues)
        if isinstance(fn.trigger, QueueTrigger):
            other = drained_by.setdefault(fn.trigger.queue, name)
            if other != name:
                issues.append(
                    Issue(
                        name,
                        "trigger.queue",
                        f"queue '{fn.trigger.queue}' is already drained by function '{other}'; one function per queue",
                    )
                )
    if not spec.functions:
        issues.append(Issue(None, "functions", "no functions listed"))
    return issues


def parse(text: str, root: Path = ROOT, path: Path = DEPLOY_FILE) -> DeployFile:
    """Parse and check deploy.yaml text; `root` is the project directory its paths are relative to."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DeployError(path, [Issue(None, "yaml", f"not valid YAML: {exc}")]) from None
    try:
        spec = DeployFile.model_validate(document)
    except ValidationError as exc:
        raise DeployError(path, [_issue_from(e) for e in exc.errors(include_url=False)]) from None
    issues = check(spec, root)
    if issues:
        raise DeployError(path, issues)
    return spec


def load(path: Path = DEPLOY_FILE) -> DeployFile:
    """Read and check deploy.yaml; a DeployError names every function and field at fault."""
    return parse(path.read_text(encoding="utf-8"), path.parent, path)
