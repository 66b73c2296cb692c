"""``blueprint validate``: the stack files and usage files checked against the typed spec, without planning: every
problem of every stack listed, in about a second."""
from __future__ import annotations

import argparse
import json

from blueprint.cost.usage import UsageError, load_usage
from blueprint.spec import FULL_KEY
from blueprint.spec.load import SpecError, StackFileError, load_stack
from blueprint.spec.yamlfile import InputFileError
from cli.commands.common import add_out_arg, add_stack_arg, stacks_from
from cli.output import check_writable, emit, progress

HELP = "check stack and usage files against the typed spec, without planning; every problem listed"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help=HELP, description=HELP)
    add_stack_arg(p, regions=False)
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="output format (default text); json: a list, one object per stack")
    add_out_arg(p)
    p.set_defaults(run=run)


def check(stack: str) -> dict:
    """One stack's result: ``{"stack", "valid", "problem", "issues": [{"path", "message", "allowed"}]}``."""
    issues: list[dict] = []
    problem = None
    try:
        _, _, spec = load_stack(stack)
        if spec is None:
            problem = f"the stack file sets no {FULL_KEY}"
    except SpecError as exc:
        problem = exc.problem
        issues = [{"path": f"{FULL_KEY}.{i.path}".rstrip("."), "message": i.message,
                   "allowed": list(i.allowed)} for i in exc.issues]
    except StackFileError as exc:
        problem = str(exc).removeprefix(f"stack '{stack}': ")
    try:
        load_usage(stack)
    except (UsageError, InputFileError) as exc:
        issues.append({"path": "usage", "message": str(exc), "allowed": []})
        problem = problem or "invalid usage file"
    return {"stack": stack, "valid": problem is None, "problem": problem, "issues": issues}


def _text(result: dict) -> str:
    if result["valid"]:
        return f"stack '{result['stack']}': valid"
    n = len(result["issues"])
    lines = [f"stack '{result['stack']}': {result['problem']}" + (f" ({n} problem{'s' if n != 1 else ''}):"
                                                                  if n else "")]
    for i in result["issues"]:
        lines.append(f"  - {i['path']}: {i['message']}" + (f"; allowed values: {', '.join(i['allowed'])}"
                                                            if i["allowed"] else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    check_writable(args.out)
    results = []
    for stack in stacks:
        progress(stack, "validating")
        results.append(check(stack))
    text = json.dumps(results, indent=2) if args.format == "json" else "\n".join(_text(r) for r in results)
    emit(text, args.out)
    return 0 if all(r["valid"] for r in results) else 1
