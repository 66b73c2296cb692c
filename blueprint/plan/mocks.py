"""Mock runtime pieces: a monitor that records every registration, and mocks that answer like a preview."""
from __future__ import annotations

from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop

from blueprint.plan.model import PlannedResource

UNKNOWN = rpc.UNKNOWN
STACK_TYPE = "pulumi:pulumi:Stack"

# Functions (invokes) the program may call, answered with fixed, obviously offline values.
_CALLS: dict[str, dict[str, Any]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:root",
                                                      "userId": "AIDAOFFLINE"},
    "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com"},
    # a fresh account: no service-linked role exists yet (components/aws/account.py creates them)
    "aws:iam/getRoles:getRoles": {"arns": [], "names": [], "id": "offline"},
    "gcp:organizations/getProject:getProject": {"number": "123456789012"},
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": {
        "emailAddress": "service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
        "member": "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com"},
    "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount": {
        "email": "project-123456789012@storage-transfer-service.iam.gserviceaccount.com",
        "member": "serviceAccount:project-123456789012@storage-transfer-service.iam.gserviceaccount.com",
        "subjectId": "100000000000000000001"},
}


# Look-ups of things that exist before the stack (an existing Route 53 zone), answered from their arguments with an
# obviously offline id.
_LOOKUPS = {
    "aws:route53/getZone:getZone": lambda a: {"zoneId": f"ZOFFLINE-{a.get('name', '')}", "name": a.get("name", ""),
                                              "nameServers": [], "privateZone": False},
}


# Outputs the cloud computes inside an echoed input object, which the program reads: unknown in a preview, not
# absent (absent would resolve to a known None and drop the dependency on the resource).
_COMPUTED_NESTED: dict[str, list[tuple[str, str]]] = {
    "aws:eks/cluster:Cluster": [("vpcConfig", "clusterSecurityGroupId")],
    "gcp:container/cluster:Cluster": [("privateClusterConfig", "privateEndpoint"),
                                      ("privateClusterConfig", "peeringName"),
                                      ("controlPlaneEndpointsConfig.dnsEndpointConfig", "endpoint")],
}


class PreviewMocks(Mocks):
    """Echo inputs as outputs and leave the id unknown: what a preview of a create shows."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        outputs = dict(args.inputs)
        for obj, key in _COMPUTED_NESTED.get(args.typ, []):
            holder = outputs
            for part in obj.split("."):  # a dotted path reaches into nested input objects
                holder[part] = dict(holder.get(part) or {})
                holder = holder[part]
            holder[key] = UNKNOWN
        return "", outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list]:
        if args.token in _LOOKUPS:
            return _LOOKUPS[args.token](dict(args.args)), []
        return dict(_CALLS.get(args.token, {})), []


def _unwrap(value: Any, path: str, secrets: list[str]) -> Any:
    """Replace secret values by a placeholder (never keep plaintext in a plan) and note their paths."""
    if isinstance(value, Unknown) or value == UNKNOWN:
        return UNKNOWN
    if rpc.is_rpc_secret(value):
        secrets.append(path)
        return "[secret]"
    if isinstance(value, dict):
        return {k: _unwrap(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


class RecordingMonitor(MockMonitor):
    """The mock monitor, plus a record of parent, provider, dependencies and secret inputs per resource.

    It gates invokes the way the engine does in ``pulumi up`` (``RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON``): an
    output invoke with ``depends_on`` (a service agent looked up once its API is enabled) is answered as it would be
    once those resources exist, and its result carries them as dependencies, so the resources built from it record
    what they wait for. Without the feature the SDK answers "unknown" and drops those dependencies.
    """

    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.recorded: dict[str, PlannedResource] = {}

    def GetDeploymentInfo(self, request):  # noqa: N802 - gRPC method name
        info = super().GetDeploymentInfo(request)
        return resource_pb2.DeploymentInfo(supportedFeatures=[
            *info.supportedFeatures, resource_pb2.RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON])

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        _ensure_event_loop()
        secrets: list[str] = []
        inputs = {} if request.type == STACK_TYPE else _unwrap(
            rpc.deserialize_properties(request.object, keep_unknowns=True), "", secrets)
        self.recorded[response.urn] = PlannedResource(
            urn=response.urn, type=request.type, name=request.name, custom=bool(request.custom),
            parent=request.parent or None, provider=request.provider or None,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            inputs=inputs, secret_paths=secrets,
            options={"protect": request.protect, "retainOnDelete": request.retainOnDelete, "import": request.importId,
                     "ignoreChanges": list(request.ignoreChanges),
                     "additionalSecretOutputs": list(request.additionalSecretOutputs)},
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        _ensure_event_loop()
        resource = self.recorded.get(request.urn)
        if resource is not None:
            secrets: list[str] = []
            resource.outputs = _unwrap(rpc.deserialize_properties(request.outputs, keep_unknowns=True), "", secrets)
        return super().RegisterResourceOutputs(request)
