"""A preview-shaped document (the step shape of `pulumi preview --json`) with every op the diff must handle."""
from __future__ import annotations

P = "urn:pulumi:prod::aiplatform::"
PROVIDER = f"{P}pulumi:providers:aws::use1"
PROVIDER_REF = f"{PROVIDER}::04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def state(type_: str, name: str, inputs: dict, custom: bool = True) -> dict:
    return {"urn": f"{P}{type_}::{name}", "type": type_, "custom": custom, "inputs": inputs,
            "outputs": {}, "parent": f"{P}pulumi:pulumi:Stack::aiplatform-prod",
            "provider": PROVIDER_REF if custom and not type_.startswith("pulumi:") else ""}


def step(op: str, old: dict | None, new: dict | None) -> dict:
    out = {"op": op, "urn": (new or old)["urn"]}
    if old is not None:
        out["oldState"] = old
    if new is not None:
        out["newState"] = new
    return out


def node_group(instance_type: str) -> dict:
    return state("aws:eks/nodeGroup:NodeGroup", "serve", {
        "instanceTypes": [instance_type], "capacityType": "ON_DEMAND", "clusterName": "c",
        "scalingConfig": {"minSize": 1.0, "desiredSize": 2.0, "maxSize": 4.0}})


def lustre(capacity: float) -> dict:
    return state("aws:fsx/lustreFileSystem:LustreFileSystem", "hot", {
        "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125.0, "storageCapacity": capacity,
        "storageType": "SSD"})


def cluster(version: str, support: str) -> dict:
    return state("aws:eks/cluster:Cluster", "eks", {"version": version, "upgradePolicy": {"supportType": support}})


def preview_doc() -> dict:
    provider = state("pulumi:providers:aws", "use1", {"region": "us-east-1"})
    stack = state("pulumi:pulumi:Stack", "aiplatform-prod", {}, custom=False)
    stack["parent"] = ""
    key = state("aws:kms/key:Key", "key", {"enableKeyRotation": True})
    vpc = state("aws:ec2/vpc:Vpc", "shared", {"cidrBlock": "10.0.0.0/16"})
    return {"steps": [
        step("same", stack, stack),
        step("same", provider, provider),
        step("same", key, key),  # unchanged: $1 before and after
        step("read", None, vpc),  # read from outside: not the stack's cost
        step("create", None, state("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "s"})),  # +32.85
        step("delete", state("aws:ec2/eip:Eip", "ip", {"domain": "vpc"}), None),  # -3.65
        step("update", cluster("1.35", "STANDARD"), cluster("1.29", "EXTENDED")),  # 73 -> 438
        # A replacement as a real preview shows it: three steps for one URN, counted once.
        step("create-replacement", node_group("g6.2xlarge"), node_group("g6.xlarge")),
        step("replace", node_group("g6.2xlarge"), node_group("g6.xlarge")),
        step("delete-replaced", node_group("g6.2xlarge"), None),
        # A replacement shown only as create-replacement + delete-replaced.
        step("create-replacement", None, lustre(2400.0)),
        step("delete-replaced", lustre(1200.0), None),
    ], "changeSummary": {"same": 3, "create": 1, "delete": 1, "update": 1, "replace": 2, "read": 1}}
