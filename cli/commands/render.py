"""``blueprint render``: write each cluster's Kubernetes manifests as YAML, from the offline plan."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

from blueprint.plan import run_plan
from cli.commands.common import add_stack_arg, plan_of, stacks_from
from cli.output import check_render_target, fresh_folder, replace_folder
from cli.render import manifests

HELP = ("write the Kubernetes manifests per cluster as YAML: DIR/<cluster>/<kind>-<namespace>-<name>.yaml "
        "(DIR/<stack>/<cluster>/... when several stacks are rendered)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help=HELP, description=HELP)
    add_stack_arg(p)
    p.add_argument("--out", "-o", type=Path, required=True, metavar="DIR",
                   help="output folder, replaced whole once every stack rendered (a new or empty folder, or one an "
                        "earlier render wrote); nothing is written when a stack fails")
    p.set_defaults(run=run)


def write(plan, out: Path) -> list[Path]:
    written = []
    for cluster, items in manifests(plan).items():
        folder = out / cluster
        folder.mkdir(parents=True, exist_ok=True)
        for m in items:
            path = folder / m.filename
            path.write_text(yaml.safe_dump(m.obj, sort_keys=False, default_flow_style=False))
            written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    check_render_target(args.out)
    plans = [plan_of(args, stack, run_plan) for stack in stacks]  # every stack plans before anything is written
    tmp = fresh_folder(args.out)
    try:
        lines = []
        for plan in plans:
            sub = tmp if len(stacks) == 1 else tmp / plan.stack
            written = write(plan, sub)
            if not written:
                print(f"{plan.stack}: no Kubernetes resources in the plan (no cluster has a provider yet)",
                      file=sys.stderr)
            clusters = sorted({p.parent.name for p in written})
            where = args.out if len(stacks) == 1 else args.out / plan.stack
            lines.append(f"{plan.stack}: {len(written)} manifests for {len(clusters)} clusters "
                         f"({', '.join(clusters)}) in {where}")
        replace_folder(tmp, args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(lines))
    return 0
