"""``blueprint render``: write each cluster's Kubernetes manifests as YAML, from the offline plan."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from blueprint.plan import run_plan
from cli.commands.common import add_stack_arg, stacks_from
from cli.render import manifests

HELP = ("write the Kubernetes manifests per cluster as YAML: DIR/<cluster>/<kind>-<namespace>-<name>.yaml "
        "(DIR/<stack>/<cluster>/... when several stacks are rendered)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help=HELP, description=HELP)
    add_stack_arg(p)
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
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
    for stack in stacks:
        out = args.out if len(stacks) == 1 else args.out / stack
        written = write(run_plan(stack), out)
        if not written:
            print(f"{stack}: no Kubernetes resources in the plan (no cluster has a provider yet)", file=sys.stderr)
        clusters = sorted({p.parent.name for p in written})
        print(f"{stack}: {len(written)} manifests for {len(clusters)} clusters ({', '.join(clusters)}) in {out}")
    return 0
