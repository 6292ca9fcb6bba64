"""Deploy commands: check deploy.yaml, build the per-function bundles and the Supabase wiring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# --- deploy: check deploy.yaml, build the per-function bundles and the Supabase wiring -------------------------


def cmd_deploy_check(args: argparse.Namespace) -> int:
    from shared.tools import deployment

    try:
        spec = deployment.load(Path(args.file))
    except deployment.DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, fn in spec.functions.items():
        print(f"ok  {name:<12} {fn.trigger.kind:<6} {fn.source}:{fn.entry_point}")
    return 0


def cmd_deploy_plan(args: argparse.Namespace) -> int:
    from shared.tools import bundles, deployment, provisioning

    try:
        spec = deployment.load(Path(args.file))
        built, sql_path = bundles.plan(spec, Path(args.out), only=args.function, root=Path(args.file).parent)
    except (deployment.DeployError, bundles.BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"secrets {Path(args.out) / provisioning.SCRIPT}  (run first: creates and grants every secret deploy.yaml names)"
    )
    for bundle in built:
        print(f"bundle  {bundle.path}/  ->  bash {bundle.path}/deploy.sh")
    print(f"wiring  {sql_path}  (apply after the migrations; see docs/deploy.md)")
    return 0


def register(sub: Any) -> None:
    from shared.tools import deployment

    deploy = sub.add_parser("deploy", help="ship functions to Google Cloud and wire Supabase to them")
    dsub = deploy.add_subparsers(dest="deploy_command", required=True)
    check = dsub.add_parser("check", help="check deploy.yaml; every problem names the function and field")
    check.add_argument("--file", default=str(deployment.DEPLOY_FILE), help=argparse.SUPPRESS)
    check.set_defaults(func=cmd_deploy_check)
    plan = dsub.add_parser("plan", help="write secrets.sh, each function's bundle + deploy.sh, and supabase/wiring.sql")
    plan.add_argument("--function", help="build only this function's bundle (wiring.sql always covers all)")
    plan.add_argument("--out", default="dist", help="output directory (default: dist)")
    plan.add_argument("--file", default=str(deployment.DEPLOY_FILE), help=argparse.SUPPRESS)
    plan.set_defaults(func=cmd_deploy_plan)


# --- end deploy -------------------------------------------------------------------------------------------------
