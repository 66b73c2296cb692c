"""What a first `pulumi up` on an empty AWS account and GCP project needs the program itself to declare: service-linked
roles, APIs and service agents, key policies their services accept, add-ons that install over EKS's own."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from blueprint.spec.quotas import markdown, quota_needs
from blueprint.plan import mocks, run_plan
from blueprint.spec.load import read_stack_file
from blueprint.plan.order import Graph, violations
from blueprint.plan.order_rules import agent_api
from blueprint.spec import FULL_KEY, load_spec

SLR = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
KEY = "aws:kms/key:Key"
SERVICE = "gcp:projects/service:Service"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
ADDON = "aws:eks/addon:Addon"
ASG_ROLE = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _statements(key) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}


# --- AWS service-linked roles --------------------------------------------------------------------------------------
def test_a_fresh_account_gets_the_auto_scaling_role_before_the_key_that_names_it(dev_plan):
    (role,) = dev_plan.of_type(SLR)
    assert role.inputs["awsServiceName"] == "autoscaling.amazonaws.com"
    assert role.options["import"] == ""  # created: the mocks' account has none
    assert role.options["retainOnDelete"] is True  # destroy never removes a role the whole account uses
    assert {"description", "tags", "tagsAll"} <= set(role.options["ignoreChanges"])
    key = dev_plan.one(KEY, "*-platform")
    assert _statements(key)["AutoScalingVolumes"]["Principal"]["AWS"] == [ASG_ROLE]
    assert Graph(dev_plan).waits(key, role)


def test_an_account_that_has_the_role_adopts_it(monkeypatch):
    monkeypatch.setitem(mocks._CALLS, "aws:iam/getRoles:getRoles",
                        {"arns": [ASG_ROLE], "names": ["AWSServiceRoleForAutoScaling"], "id": "offline"})
    (role,) = run_plan("dev").of_type(SLR)
    assert role.options["import"] == ASG_ROLE


def test_only_the_node_volume_key_names_the_auto_scaling_role(prod_plan):
    for key in prod_plan.of_type(KEY):
        named = "AutoScalingVolumes" in _statements(key)
        assert named == key.name.endswith("-platform"), key.name


def test_the_key_of_an_fsx_linked_bucket_admits_fsx_s3_access_for_that_bucket_only(prod_plan, dev_plan):
    st = _statements(prod_plan.one(KEY, "aws-us-east-1-key"))["FsxDataRepository"]
    cond = st["Condition"]
    assert st["Principal"] == {"AWS": "*"} and cond["StringEquals"]["kms:CallerAccount"] == "123456789012"
    assert cond["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert cond["ArnLike"]["aws:PrincipalArn"] == ("arn:aws:iam::123456789012:role/aws-service-role/"
                                                   "s3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access_*")
    assert cond["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [
        "arn:aws:s3:::aiplat-prod-us-east-1-datasets", "arn:aws:s3:::aiplat-prod-us-east-1-datasets/*"]
    assert "FsxDataRepository" not in _statements(prod_plan.one(KEY, "aws-us-west-2-key"))  # no FSx there


# --- EKS ------------------------------------------------------------------------------------------------------------
def test_the_cluster_role_may_use_the_secrets_key_before_the_cluster_exists(prod_plan):
    graph = Graph(prod_plan)
    cluster = prod_plan.one("aws:eks/cluster:Cluster", "aws-us-east-1-eks")
    policy = prod_plan.one("aws:iam/rolePolicy:RolePolicy", "aws-us-east-1-eks-cluster-encryption")
    key = prod_plan.one(KEY, "aws-us-east-1-platform")
    assert key.urn in policy.property_dependencies["policy"] and graph.waits(cluster, policy)


def test_add_ons_overwrite_what_eks_bootstrapped_and_install_in_the_anchor_order(prod_plan):
    graph = Graph(prod_plan)
    addons = {a.inputs["addonName"]: a for a in prod_plan.of_type(ADDON) if a.name.startswith("aws-us-east-1-")}
    for name in ("vpc-cni", "coredns", "kube-proxy"):
        assert addons[name].inputs["resolveConflictsOnCreate"] == "OVERWRITE", name
    groups = [g for g in prod_plan.of_type("aws:eks/nodeGroup:NodeGroup") if g.name.startswith("aws-us-east-1-")]
    system = next(g for g in groups if g.name.endswith("-system"))
    for g in groups:
        assert graph.waits(g, addons["vpc-cni"]) and graph.waits(g, addons["eks-pod-identity-agent"])
    for name in ("coredns", "aws-ebs-csi-driver", "aws-fsx-csi-driver"):
        assert graph.waits(addons[name], system), name


# --- GCP project -----------------------------------------------------------------------------------------------------
def test_every_api_is_enabled_once_and_stays_enabled_on_destroy(prod_plan):
    services = prod_plan.of_type(SERVICE)
    names = [s.inputs["service"] for s in services]
    assert len(names) == len(set(names)) and "file.googleapis.com" in names
    assert all(s.inputs["disableOnDestroy"] is False and s.inputs["project"] == "aiplat-prod-ml" for s in services)
    # the manual prerequisites are not declared: enabling an API needs them already on
    assert not {"serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com"} & set(names)


def test_service_agents_are_generated_or_looked_up_never_spelled():
    from tests.conftest import gcp_training_config
    prod_plan = run_plan("prod", platform=gcp_training_config())  # with the Filestore hot tier GKE training reads
    graph = Graph(prod_plan)
    identities = {i.inputs["service"]: i for i in prod_plan.of_type(IDENTITY)}
    assert set(identities) == {"container.googleapis.com", "file.googleapis.com"}
    grants = prod_plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert {agent_api(graph, g) for g in grants} == {"container.googleapis.com", "file.googleapis.com",
                                                     "storage.googleapis.com"}
    for g in grants:
        api = agent_api(graph, g)
        if api in identities:
            assert identities[api].urn in g.property_dependencies["member"]
        else:  # the GCS agent: its lookup ran once the storage API was on
            (storage,) = [s for s in prod_plan.of_type(SERVICE) if s.inputs["service"] == api]
            assert storage.urn in g.property_dependencies["member"]


# --- each fix, undone in the program, fails the creation-order check ---------------------------------------------
@pytest.mark.parametrize("module,attr,undo,rule", [
    ("components.gcp.project", "APIS", lambda apis: tuple(a for a in apis if a != "dns.googleapis.com"),
     "gcp-api-enabled"),
    ("components.aws.addons", "RESOLVE_CONFLICTS_ON_CREATE", lambda _: "NONE", "eks-addon"),
    ("components.aws.addons", "BEFORE_COMPUTE_ADDONS", lambda _: [], "eks-node-group"),
    ("components.aws.account", "KEY_POLICY_ROLES", lambda _: {}, "aws-key-admits-user"),
])
def test_undoing_a_fix_in_the_program_fails_the_check(monkeypatch, module, attr, undo, rule):
    mod = importlib.import_module(module)
    monkeypatch.setattr(mod, attr, undo(getattr(mod, attr)))
    if attr == "BEFORE_COMPUTE_ADDONS":  # the add-ons still exist, installed after the system pool instead
        monkeypatch.setattr(mod, "AFTER_COMPUTE_ADDONS", [*mod.AFTER_COMPUTE_ADDONS, "vpc-cni"])
    assert rule in {v.rule for v in violations(run_plan("prod"))}


# --- what a first deployment needs by hand: docs/first-deployment.md --------------------------------------------
DOC = Path(__file__).resolve().parents[1] / "docs" / "first-deployment.md"


def _spec(stack: str):
    return load_spec(read_stack_file(stack)[FULL_KEY], stack=stack)


def test_prod_quotas_are_its_pools_at_their_maximum():
    needs = {(q.scope, q.quota): q.amount for q in quota_needs(_spec("prod"))}
    assert needs[("us-east-1", "Running On-Demand P instances")] == 4 * 192  # reserved p5.48xlarge, max 4
    assert needs[("us-west-2", "All P Spot Instance Requests")] == 2 * 192  # spot p5.48xlarge, max 2
    assert needs[("us-east-1", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")] == 6 * 4
    assert needs[("us-central1", "PREEMPTIBLE_NVIDIA_H100_GPUS")] == 2 * 8  # spot a3-highgpu-8g
    assert needs[("us-central1", "NVIDIA_L4_GPUS")] == 6
    assert needs[("global", "GPUS_ALL_REGIONS")] == 16 + 6


def test_the_first_deployment_page_shows_the_quotas_the_stacks_need_now():
    text = DOC.read_text()
    table = text.split("<!-- quota-table:start -->\n", 1)[1].split("\n<!-- quota-table:end -->", 1)[0]
    assert table == markdown({s: _spec(s) for s in ("dev", "staging", "prod")}), \
        "docs/first-deployment.md quota table is stale: paste blueprint.spec.quotas.markdown(...) there"


def test_the_first_deployment_page_names_the_manual_prerequisites_and_the_adopt_path():
    from components.gcp.project import APIS, PREREQUISITE_APIS

    text = DOC.read_text()
    for api in (*PREREQUISITE_APIS, *APIS):
        assert api.split(".")[0] in text, api
    assert "pulumi import" in text and "AWSServiceRoleForAutoScaling" in text and "retain_on_delete" in text


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_elastic_ips_to_request_are_the_ones_each_region_allocates(stack):
    """EIPs are a per-region quota (default 5): one per NAT gateway, the runner subnet's NAT included. prod's
    us-east-1 takes 4 of the 5 (first-up review round 1, aws 6)."""
    from tests.conftest import shipped_plan
    plan = shipped_plan(stack)
    allocated: dict[str, int] = {}
    for eip in plan.of_type("aws:ec2/eip:Eip"):
        region = next(r.region for r in _spec(stack).regions if eip.name.startswith(f"aws-{r.region}-"))
        allocated[region] = allocated.get(region, 0) + 1
    needs = {q.scope: q.amount for q in quota_needs(_spec(stack)) if q.quota == "EC2-VPC Elastic IPs"}
    assert needs == allocated
    if stack == "prod":
        assert needs == {"us-east-1": 4, "us-west-2": 3}
