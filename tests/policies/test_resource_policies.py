"""Every resource policy fails on a bad resource and passes on the good twin, both declared with the real SDK."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
from pulumi_gcp import container, filestore as filestore_, kms as gkms, storage as gcs

from blueprint.spec import load_spec
from tests.conftest import platform_config
from tests.policies.helpers import check, spec_for

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAINT = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
SUBNETS = ["subnet-0a", "subnet-0b"]


def node_group(instance="p5.48xlarge", taints=TAINT, max_size=2, capacity="SPOT", purpose="training"):
    return lambda: aws.eks.NodeGroup(
        "pool", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n", subnet_ids=SUBNETS,
        instance_types=[instance], capacity_type=capacity, taints=taints,
        labels={"aiplatform.io/pool": "pool", "aiplatform.io/purpose": purpose},
        scaling_config={"min_size": 0, "desired_size": 0, "max_size": max_size})


def launch_template(tokens="required", encrypted="true", public=None, hops=1):
    nics = [{"associate_public_ip_address": public, "device_index": 0}] if public else None
    return lambda: aws.ec2.LaunchTemplate(
        "lt", metadata_options={"http_tokens": tokens, "http_put_response_hop_limit": hops, "http_endpoint": "enabled"},
        block_device_mappings=[{"device_name": "/dev/xvda",
                                "ebs": {"encrypted": encrypted, "kms_key_id": KEY, "volume_size": 100}}],
        network_interfaces=nics)


def gcs_bucket(cmek=True, pap="enforced", versioning=True, lifecycle=True, data_class="checkpoints",
               location="US-CENTRAL1", ubla=True, labels=None):
    return lambda: gcs.Bucket(
        "b", location=location, uniform_bucket_level_access=ubla, public_access_prevention=pap,
        labels={"data-class": data_class, **(labels or {})}, versioning={"enabled": versioning},
        encryption={"default_kms_key_name": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"} if cmek else None,
        lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": 30}}] if lifecycle else None)


def eks(public=False, secrets=True, cidrs=None, private=True):
    return lambda: aws.eks.Cluster(
        "eks", role_arn="arn:aws:iam::123456789012:role/eks",
        vpc_config={"subnet_ids": SUBNETS, "endpoint_public_access": public, "endpoint_private_access": private,
                    "public_access_cidrs": cidrs},
        encryption_config={"resources": ["secrets"], "provider": {"key_arn": KEY}} if secrets else None)


def gke(private=True, shielded=True, wi=True, etcd=True, private_nodes=True, authorized="10.0.0.0/8", dns=True):
    return lambda: container.Cluster(
        "gke", location="us-central1", enable_shielded_nodes=shielded, initial_node_count=1,
        control_plane_endpoints_config={"dns_endpoint_config": {"allow_external_traffic": dns}},
        private_cluster_config={"enable_private_nodes": private_nodes, "enable_private_endpoint": private,
                                "master_ipv4_cidr_block": "10.0.0.0/28"},
        master_authorized_networks_config={"cidr_blocks": [{"cidr_block": authorized}]},
        workload_identity_config={"workload_pool": "p.svc.id.goog"} if wi else None,
        database_encryption={"state": "ENCRYPTED", "key_name": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}
        if etcd else {"state": "DECRYPTED"})


def filestore(cmek=True):
    return lambda: filestore_.Instance(
        "fs", location="us-central1-a", tier="ZONAL", file_shares={"name": "data", "capacity_gb": 1024},
        networks=[{"network": "default", "modes": ["MODE_IPV4"]}],
        kms_key_name="projects/p/locations/us-central1/keyRings/r/cryptoKeys/k" if cmek else None)


def gke_pool(metadata="GKE_METADATA", secure_boot=True, location="us-central1", private=None):
    return lambda: container.NodePool(
        "np", cluster="c", location=location, node_count=1,
        network_config={"enable_private_nodes": private} if private is not None else None,
        node_config={"machine_type": "g2-standard-8", "taints": TAINT,
                     "workload_metadata_config": {"mode": metadata},
                     "shielded_instance_config": {"enable_secure_boot": secure_boot,
                                                  "enable_integrity_monitoring": True}})


def deployment(privileged=False, user=65532, resources=True, probes=True, image="ghcr.io/a/serve:1.2.3",
               gpu=None, kind="Deployment", where=("serving", "d")):
    """``gpu``: (request, limit) of nvidia.com/gpu, None for either to leave it out; the pod tolerates the GPU taint.
    ``kind`` DaemonSet declares the same pod as a DaemonSet named ``where`` (namespace, name)."""
    def program():
        probe = {"httpGet": {"path": "/readyz", "port": 8080}}
        requests, limits = {"cpu": "1", "memory": "1Gi"}, {"memory": "1Gi"}
        if gpu is not None:
            requests.update({"nvidia.com/gpu": gpu[0]} if gpu[0] is not None else {})
            limits.update({"nvidia.com/gpu": gpu[1]} if gpu[1] is not None else {})
        container_ = {"name": "server", "image": image,
                      "securityContext": {"privileged": privileged, "runAsUser": user, "runAsNonRoot": user != 0},
                      **({"resources": {"requests": requests, "limits": limits}} if resources else {}),
                      **({"readinessProbe": probe, "livenessProbe": probe} if probes else {})}
        pod = {"containers": [container_]}
        if gpu is not None:
            pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        cls = k8s.apps.v1.DaemonSet if kind == "DaemonSet" else k8s.apps.v1.Deployment
        cls("d", metadata={"namespace": where[0], "name": where[1]}, spec={
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": pod}})
    return program


TAGS = {"owner": "ml-platform", "cost-center": "cc-ml-1001", "environment": "prod"}


def regional_bucket(region, bucket_region=None, tags=TAGS):
    """An S3 bucket under a provider for ``region``; ``bucket_region`` is pulumi-aws v7's per-resource override."""
    def program():
        prov = aws.Provider("p", region=region)
        aws.s3.Bucket("b", bucket="b", region=bucket_region, tags=tags, opts=pulumi.ResourceOptions(provider=prov))
    return program


def regional_pool(region):
    def program():
        prov = aws.Provider("p", region=region)
        aws.eks.NodeGroup("pool", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                          subnet_ids=SUBNETS, instance_types=["g6.xlarge"], taints=TAINT,
                          scaling_config={"min_size": 0, "desired_size": 0, "max_size": 1},
                          opts=pulumi.ResourceOptions(provider=prov))
    return program


def eu_config(region="eu-west-2"):
    """The dev stack in ``region`` with dataResidency eu."""
    cfg = json.loads(json.dumps(platform_config("dev")).replace("us-east-1", region))
    return {**cfg, "dataResidency": "eu"}


def eu_spec():
    return load_spec(eu_config(), stack="dev")


EU = eu_spec()


CASES = {
    # policy: [(bad program, good program, expected words in the message, spec or None)]
    "storage-encrypted-cmk": [
        (lambda: aws.ebs.Volume("v", availability_zone="us-east-1a", size=100, type="gp3", encrypted=True),
         lambda: aws.ebs.Volume("v", availability_zone="us-east-1a", size=100, type="gp3", encrypted=True,
                                kms_key_id=KEY), "customer-managed", None),
        (filestore(cmek=False), filestore(), "kmsKeyName", None),
        (lambda: aws.s3.BucketServerSideEncryptionConfiguration("sse", bucket="b", rules=[
            {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]),
         lambda: aws.s3.BucketServerSideEncryptionConfiguration("sse", bucket="b", rules=[
             {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY}}]),
         "SSE-KMS", None),
        (gcs_bucket(cmek=False), gcs_bucket(), "CMEK", None),
        (eks(secrets=False), eks(), "secrets", None),
        (gke(etcd=False), gke(), "databaseEncryption", None),
        (launch_template(encrypted="false"), launch_template(), "not encrypted", None),
        (lambda: aws.fsx.LustreFileSystem("fsx", subnet_ids="subnet-0a", storage_capacity=1200,
                                          deployment_type="PERSISTENT_2", per_unit_storage_throughput=125),
         lambda: aws.fsx.LustreFileSystem("fsx", subnet_ids="subnet-0a", storage_capacity=1200, kms_key_id=KEY,
                                          deployment_type="PERSISTENT_2", per_unit_storage_throughput=125),
         "kmsKeyId", None),
    ],
    "storage-no-public-access": [
        (lambda: aws.s3.BucketPublicAccessBlock("pab", bucket="b", block_public_acls=True, block_public_policy=False,
                                                ignore_public_acls=True, restrict_public_buckets=True),
         lambda: aws.s3.BucketPublicAccessBlock("pab", bucket="b", block_public_acls=True, block_public_policy=True,
                                                ignore_public_acls=True, restrict_public_buckets=True),
         "blockPublicPolicy", None),
        (gcs_bucket(pap="inherited"), gcs_bucket(), "publicAccessPrevention", None),
        (gcs_bucket(ubla=False), gcs_bucket(), "uniformBucketLevelAccess", None),
        (lambda: aws.s3.BucketAcl("acl", bucket="b", acl="public-read"),
         lambda: aws.s3.BucketAcl("acl", bucket="b", acl="private"), "public-read", None),
        (lambda: gcs.BucketIAMMember("m", bucket="b", role="roles/storage.objectViewer", member="allUsers"),
         lambda: gcs.BucketIAMMember("m", bucket="b", role="roles/storage.objectViewer",
                                     member="serviceAccount:x@p.iam.gserviceaccount.com"), "allUsers", None),
    ],
    "storage-versioning-gcs": [(gcs_bucket(versioning=False), gcs_bucket(), "versioning", None)],
    "storage-lifecycle-gcs": [(gcs_bucket(lifecycle=False), gcs_bucket(), "lifecycle", None)],
    "ec2-imdsv2": [(launch_template(tokens="optional"), launch_template(), "httpTokens", None),
                   # a pod is one hop past its node: 2 hands it the node role (CKV_AWS_341: at most 1)
                   (launch_template(hops=2), launch_template(), "at most 1", None)],
    "gpu-pool-tainted": [(node_group(taints=None), node_group(), "taint", None)],
    "gpu-instance-allowlist": [(node_group("p4d.24xlarge"), node_group("p5.48xlarge"), "p4d.24xlarge",
                                spec_for(allowedInstanceTypes=["p5.48xlarge", "g6.2xlarge", "a3-highgpu-8g",
                                                               "g2-standard-8"]))],
    "training-spot-outside-prod": [(node_group(capacity="ON_DEMAND"), node_group(), "not spot", spec_for("staging"))],
    "gke-shielded-nodes": [(gke(shielded=False), gke(), "enableShieldedNodes", None),
                           (gke_pool(secure_boot=False), gke_pool(), "enableSecureBoot", None)],
    "gke-workload-identity": [(gke(wi=False), gke(), "workloadPool", None),
                              (gke_pool(metadata="GCE_METADATA"), gke_pool(), "GKE_METADATA", None)],
    "kms-key-rotation": [
        (lambda: aws.kms.Key("k", enable_key_rotation=False), lambda: aws.kms.Key("k", enable_key_rotation=True),
         "enableKeyRotation", None),
        (lambda: gkms.CryptoKey("k", key_ring="r", rotation_period="63072000s"),
         lambda: gkms.CryptoKey("k", key_ring="r", rotation_period="7776000s"), "365 days", None)],
    # The documented modes (access.deployer): EKS private, or public-allowlist beside the private endpoint; GKE IP
    # endpoints private, with (dns-endpoint) or without (private) the DNS endpoint open to IAM-authorized callers.
    "k8s-api-endpoint-private": [
        (eks(public=True, cidrs=["203.0.113.0/24"]), eks(public=True, cidrs=["52.94.0.0/24"]), "documentation range",
         None),
        (eks(public=True, cidrs=["0.0.0.0/0"]), eks(public=True, cidrs=["52.94.0.0/24"]), "0.0.0.0/0",
         spec_for("dev")),
        (eks(public=True, cidrs=None), eks(), "0.0.0.0/0", None),
        (eks(public=True, cidrs=["52.94.0.0/24"], private=False), eks(public=True, cidrs=["52.94.0.0/24"]),
         "without the private one", None),
        (gke(private=False), gke(), "enablePrivateEndpoint", None),
        (gke(private=False, dns=True), gke(private=True, dns=False), "public IP endpoint", spec_for("dev")),
        (gke(authorized="0.0.0.0/0"), gke(), "0.0.0.0/0", spec_for("dev"))],
    "nodes-no-public-ip": [(launch_template(public="true"), launch_template(), "public IP", None),
                           (gke(private_nodes=False), gke(), "enablePrivateNodes", None),
                           (gke_pool(private=False), gke_pool(private=True), "enablePrivateNodes=false", None)],
    "tgw-auto-accept-off": [
        (lambda: aws.ec2transitgateway.TransitGateway("tgw", auto_accept_shared_attachments="enable"),
         lambda: aws.ec2transitgateway.TransitGateway("tgw", auto_accept_shared_attachments="disable"),
         "autoAcceptSharedAttachments", None)],
    "k8s-no-privileged": [
        (deployment(privileged=True), deployment(), "privileged", None),
        # no name is a pass: a privileged DaemonSet called like the device plugin is still privileged
        (deployment(privileged=True, kind="DaemonSet", where=("kube-system", "nvidia-device-plugin-daemonset")),
         deployment(kind="DaemonSet", where=("kube-system", "nvidia-device-plugin-daemonset")),
         "privileged", None)],
    "k8s-non-root": [(deployment(user=0), deployment(), "uid 0", None)],
    "k8s-resources-set": [
        (deployment(resources=False), deployment(), "requests.cpu", None),
        (deployment(gpu=("1", None)), deployment(gpu=("1", "1")), "limits.nvidia.com/gpu", None),
        (deployment(gpu=(None, None)), deployment(gpu=(None, "1")), "no container requests nvidia.com/gpu", None),
        (deployment(gpu=("1", "2")), deployment(gpu=("2", "2")), "request 1 != limit 2", None)],
    "k8s-serving-probes": [(deployment(probes=False), deployment(), "readinessProbe", None)],
    "k8s-image-pinned": [(deployment(image="ghcr.io/a/serve:latest"), deployment(), "not pinned", None),
                         (deployment(image="ghcr.io/a/serve"), deployment(
                             image="ghcr.io/a/serve@sha256:" + "a" * 64), "not pinned", None)],
    "required-tags": [
        (lambda: aws.s3.Bucket("b", tags={"owner": "ml-platform"}), regional_bucket("us-east-1"), "cost-center", None),
        (regional_bucket("us-east-1", tags={**TAGS, "environment": "dev"}), regional_bucket("us-east-1"),
         "environment=dev (expected prod)", None),
        (gcs_bucket(labels={"owner": "ml-platform"}), gcs_bucket(labels=TAGS), "missing labels: cost-center", None),
        (gcs_bucket(labels={**TAGS, "environment": "staging"}), gcs_bucket(labels=TAGS),
         "environment=staging (expected prod)", None)],
    "data-residency": [
        (regional_bucket("eu-west-1"), regional_bucket("us-east-1"), "eu-west-1", None),
        # pulumi-aws v7: the resource's own region wins over its provider's.
        (regional_bucket("us-east-1", bucket_region="eu-west-1"),
         regional_bucket("eu-west-1", bucket_region="us-west-2"), "eu-west-1", None),
        (gcs_bucket(location="EUROPE-WEST4"), gcs_bucket(location="US"), "europe-west4", None),
        (gke_pool(location="europe-west4-a"), gke_pool(location="us-central1-a"), "europe-west4", None),
        # An EU stack may not place storage or GPUs outside the EU.
        (regional_pool("us-east-1"), regional_pool("eu-west-2"), "us-east-1", EU),
        (regional_bucket("eu-west-2", bucket_region="us-east-1"), regional_bucket("eu-west-2"), "us-east-1", EU),
        (gcs_bucket(location="US"), gcs_bucket(location="EU"), "placed in us (us)", EU),
    ],
}
PARAMS = [pytest.param(name, *case, id=f"{name}-{i}") for name, cases in CASES.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize("name,bad,good,words,spec", PARAMS)
def test_policy_fails_bad_and_passes_good(name, bad, good, words, spec):
    violations = check(name, bad, spec)
    assert violations, f"{name} let the bad resource through"
    assert all(v.policy == name for v in violations)
    assert any(words in v.message for v in violations), [v.message for v in violations]
    assert check(name, good, spec) == []


def test_every_resource_policy_has_a_case():
    from policies import ALL_POLICIES
    from pulumi_policy import ResourceValidationPolicy
    from tests.policies.test_hardening_policies import CASES as HARDENING, MORE
    names = {p.name for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)}
    assert names == set(CASES) | set(HARDENING), names ^ (set(CASES) | set(HARDENING))
    assert set(MORE) <= names


def test_an_eu_stack_of_the_real_program_keeps_storage_and_gpus_in_the_eu():
    from blueprint.plan.engine import run_plan
    from tests.policies.helpers import evaluate
    assert evaluate(run_plan("dev", platform=eu_config()), names=["data-residency"]).violations == []
    bad = evaluate(run_plan("dev", platform=eu_config("us-east-1")), names=["data-residency"])
    placed = {v.resource.rsplit("::", 2)[1].split("$")[-1] for v in bad.violations}
    assert {"aws:eks/nodeGroup:NodeGroup", "aws:s3/bucket:Bucket"} <= placed, placed
    assert all("placed in us-east-1 (us)" in v.message and "stay in eu" in v.message for v in bad.violations)
