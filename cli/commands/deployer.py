"""``blueprint deployer``: where `pulumi up` must run for a stack and how it reaches each API server (from the spec)."""
from __future__ import annotations

import argparse
import json

from blueprint.plan import run_plan
from blueprint.spec import FULL_KEY, Cloud, PlatformSpec, SpecError, SpecIssue, address_plan
from blueprint.spec.access import private_sources
from blueprint.spec.load import load_stack
from blueprint.spec.model import GkeEndpoint
from cli.commands.common import add_stack_arg, stacks_from
from cli.output import UserError

HELP = ("where `pulumi up` runs for a stack (access.deployer) and how it reaches every API server; --format github "
        "prints the job's runner labels and tools for $GITHUB_OUTPUT, --format bootstrap the `pulumi up` flags of a "
        "first pass that creates everything but the Kubernetes objects (the runner subnet included)")
HOSTED = ["ubuntu-latest"]
LABELS_VARIABLE = "DEPLOY_RUNNER_LABELS"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deployer", help=HELP, description=HELP)
    add_stack_arg(p, regions=False)
    p.add_argument("--format", choices=("text", "json", "github", "bootstrap"), default="text",
                   help="github: key=value lines for $GITHUB_OUTPUT (runs_on: the runner labels as JSON, "
                        "in_network, gke: true/false); with several stacks each value is a JSON object by stack")
    p.add_argument("--runner-labels", default="", metavar="JSON",
                   help=f"the repository variable {LABELS_VARIABLE}: a JSON object of runner labels per stack "
                        "(or one list for every stack), for stacks that deploy from inside the network")
    p.set_defaults(run=run)


def describe(spec: PlatformSpec) -> dict:
    """The deployer's location, and per cluster the endpoint it uses and the credentials plugin."""
    d, runner = spec.access.deployer, spec.runner_region()
    if runner is not None:
        where = {"kind": "runner-subnet", "region": runner.key, "cidr": str(address_plan(spec)[runner.key].runner)}
    elif d.peer_cidrs:
        where = {"kind": "peer-network", "cidrs": list(d.peer_cidrs)}
    else:
        where = {"kind": "internet", "egressCidrs": list(d.egress_cidrs)}
    clusters = []
    for region in spec.regions:
        if region.cloud is Cloud.aws:
            private = bool(private_sources(spec, region))
            endpoint = "private endpoint" if private else "public endpoint (allow-list)"
            via = ("the runner's own VPC" if runner is not None and runner.key == region.key else
                   "the interconnect" if private else "the internet")
            auth = "aws eks get-token"
        else:
            dns = spec.gke_endpoint is GkeEndpoint.dns_endpoint
            endpoint = "DNS endpoint (IAM)" if dns else "private endpoint"
            via = "the internet (Google's front end)" if dns else "the interconnect (route export to the peering)"
            auth = "gke-gcloud-auth-plugin"
        clusters.append({"region": region.key, "endpoint": endpoint, "via": via, "auth": auth})
    tools = (["aws"] if any(r.cloud is Cloud.aws for r in spec.regions) else []) + \
            (["gcloud", "gke-gcloud-auth-plugin"] if any(r.cloud is Cloud.gcp for r in spec.regions) else [])
    return {"stack": spec.stack, "inNetwork": where["kind"] != "internet", "deployer": where, "clusters": clusters,
            "tools": tools}


def runs_on(info: dict, labels_json: str) -> list[str]:
    """The job's runner labels: GitHub-hosted for a deployer on the internet, the variable's for an in-network one."""
    if not info["inNetwork"]:
        return HOSTED
    stack = info["stack"]
    try:
        given = json.loads(labels_json) if labels_json.strip() else None
    except ValueError as exc:
        raise ValueError(f"{LABELS_VARIABLE} is not JSON ({exc})") from None
    labels = given.get(stack) if isinstance(given, dict) else given
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) and x for x in labels)):
        raise ValueError(f"stack '{stack}' deploys from inside the network ({info['deployer']['kind']} "
                         f"{info['deployer'].get('region') or ', '.join(info['deployer'].get('cidrs', []))}); set the "
                         f"repository variable {LABELS_VARIABLE} to the labels of a self-hosted runner there, e.g. "
                         f'{{"{stack}": ["self-hosted", "aiplat-{stack}"]}}')
    return labels


def bootstrap_flags(stack: str) -> list[str]:
    """`pulumi up` flags that leave out every Kubernetes provider of the offline plan and what depends on them."""
    plan = run_plan(stack)
    providers = [engine_urn(plan, r) for r in plan.of_type("pulumi:providers:kubernetes")]
    return [flag for urn in providers for flag in ("--exclude", urn)] + ["--exclude-dependents"]


def engine_urn(plan, resource) -> str:
    """The URN the Pulumi engine gives ``resource``: its type qualified by every ancestor's (the mock runtime's URNs
    keep only the parent's)."""
    types, parent = [resource.type], plan.by_urn(resource.parent) if resource.parent else None
    while parent is not None and parent.type != "pulumi:pulumi:Stack":
        types.insert(0, parent.type)
        parent = plan.by_urn(parent.parent) if parent.parent else None
    return f"urn:pulumi:{plan.stack}::{plan.project}::{'$'.join(types)}::{resource.name}"


def _text(info: dict) -> str:
    where = info["deployer"]
    if where["kind"] == "runner-subnet":
        place = f"a self-hosted runner in the runner subnet {where['cidr']} ({where['region']})"
    elif where["kind"] == "peer-network":
        place = f"a machine in the peer network {', '.join(where['cidrs'])} (over the dedicated links)"
    else:
        place = "any machine on the internet" + (f" leaving from {', '.join(where['egressCidrs'])}"
                                                  if where["egressCidrs"] else "")
    lines = [f"stack {info['stack']}: `pulumi up` runs from {place}"]
    for c in info["clusters"]:
        lines.append(f"  {c['region']:<20} {c['endpoint']:<30} via {c['via']}; auth: {c['auth']}")
    lines.append(f"  tools: {', '.join(info['tools'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    stacks = stacks_from(args)
    infos = []
    for stack in stacks:
        _, _, spec = load_stack(stack)  # validates: a broken deploy path is the spec error
        if spec is None:
            raise SpecError(stack, [SpecIssue("", f"missing; set {FULL_KEY} in the stack file")])
        infos.append(describe(spec))
    if args.format == "bootstrap":
        if len(infos) != 1:
            raise UserError("--format bootstrap needs exactly one --stack", 2)
        print("\n".join(bootstrap_flags(infos[0]["stack"])))
    elif args.format == "json":
        print(json.dumps(infos, indent=2))  # always a list, one object per stack
    elif args.format == "github":
        try:
            labels = {i["stack"]: runs_on(i, args.runner_labels) for i in infos}
        except ValueError as exc:
            raise UserError(str(exc)) from None
        values = {"runs_on": labels, "in_network": {i["stack"]: i["inNetwork"] for i in infos},
                  "gke": {i["stack"]: "gke-gcloud-auth-plugin" in i["tools"] for i in infos}}
        for key, per_stack in values.items():  # one stack: its value; several: an object by stack
            value = per_stack[infos[0]["stack"]] if len(infos) == 1 else per_stack
            print(f"{key}={json.dumps(value)}")
    else:
        print("\n\n".join(_text(i) for i in infos))
    return 0
