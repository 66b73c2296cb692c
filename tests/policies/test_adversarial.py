"""Issue 18's adversarial table: deliberate misconfigurations declared with the real SDK classes, each judged by the
whole pack with production settings. Each must be caught by the named policy, mandatory in production; with
development settings, hard limits stay mandatory and the rest turn advisory."""
from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest

from blueprint.plan.engine import run_program
from policies import ALL_POLICIES
from tests.policies import programs as P
from tests.policies.helpers import evaluate, spec_for

HARD = {p.name for p in ALL_POLICIES if p.hard}
PROD, DEV = spec_for("prod"), spec_for("dev")
ADMIN = {"AWS": "*"}
PRIV = {"securityContext": {"privileged": True}}


def bucket_v2_without_companions():
    aws.s3.BucketV2("b", bucket="b", tags={"data-class": "checkpoints"})


def gpu_pool_40000_gpus():
    """The issue's dev-stack pool: 5,000 p5.48xlarge nodes."""
    aws.eks.NodeGroup("pool", cluster_name="c", node_role_arn="arn:aws:iam::1:role/n", subnet_ids=["s"],
                      instance_types=["p5.48xlarge"], capacity_type="SPOT",
                      taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
                      scaling_config={"min_size": 0, "desired_size": 0, "max_size": 5000})


def spot_fleet():
    aws.ec2.SpotFleetRequest("sf", iam_fleet_role="arn:aws:iam::1:role/fleet", target_capacity=300,
                             launch_specifications=[{"ami": "ami-1", "instance_type": "p5.48xlarge"}])


def mig_with_autoscaler():
    template = gcp.compute.InstanceTemplate("tpl", machine_type="a3-highgpu-8g",
                                            disks=[{"source_image": "cos-cloud/cos-stable", "boot": True}],
                                            network_interfaces=[{"network": "default"}])
    mig = gcp.compute.InstanceGroupManager("mig", zone="us-central1-a", base_instance_name="gpu",
                                           versions=[{"instance_template": template.self_link_unique}])
    gcp.compute.Autoscaler("as", zone="us-central1-a", target=mig.id,
                           autoscaling_policy={"max_replicas": 200, "min_replicas": 0})


CLASSES = {
    "network exposure": [
        ("sg-ssh", P.sg(22), "network-no-public-admin-ports", "SSH (22) from 0.0.0.0/0"),
        ("sg-rdp-ipv6", P.sg(3389, cidr="::/0", ipv6=True), "network-no-public-admin-ports", "RDP (3389) from ::/0"),
        ("sg-all-ports", P.sg(0, protocol="-1", to_port=0), "network-no-public-admin-ports", "all ports"),
        ("sg-rule-range", P.sg_rule(0, 65535), "network-no-public-admin-ports", "all ports"),
        ("vpc-ingress-rule-ssh", P.vpc_ingress(22), "network-no-public-admin-ports", "SSH (22)"),
        ("nacl-rdp", P.nacl_rule(3389), "network-no-public-admin-ports", "RDP (3389)"),
        ("gcp-firewall-ssh", P.firewall(("22",)), "network-no-public-admin-ports", "SSH (22)"),
        ("gcp-firewall-everything", P.firewall((), sources=(), protocol="all"), "network-no-public-admin-ports",
         "all ports"),
        ("gcp-policy-rule-rdp", P.firewall_policy_rule("3389"), "network-no-public-admin-ports", "RDP (3389)"),
        ("lb-service-ssh", P.lb_service(22), "network-no-public-admin-ports", "internet-facing LoadBalancer"),
        ("vpc-no-flow-logs", P.vpc(flow_logs=False), "vpc-flow-logs", "no flow log"),
        ("subnet-no-flow-logs", P.subnetwork(logs=False), "vpc-flow-logs", "no logConfig"),
        ("vpc-default-sg-unmanaged", P.vpc(default_sg=False), "vpc-default-sg-closed", "unmanaged"),
        ("vpc-default-sg-open", P.vpc(default_sg_rules=True), "vpc-default-sg-closed", "ingress rules"),
    ],
    "identity": [
        ("iam-star", P.iam_policy(P.allow("*")), "iam-no-wildcard-admin", "Action: *"),
        ("iam-service-star", P.role_policy(P.allow("s3:*")), "iam-no-wildcard-admin", "Resource: *"),
        ("iam-inline-star", P.role(inline=[P.allow("*")]), "iam-no-wildcard-admin", "inlinePolicies[0]"),
        ("iam-admin-attached", P.attachment(), "iam-no-wildcard-admin", "AdministratorAccess"),
        ("iam-passrole-star", P.user_policy(P.allow("iam:PassRole")), "iam-no-wildcard-admin",
         "privilege escalation"),
        ("trust-any-aws", P.role(P.allow("sts:AssumeRole", principal=ADMIN)), "iam-trust-restricted",
         "any AWS principal"),
        ("trust-oidc-no-sub", P.role(P.allow("sts:AssumeRoleWithWebIdentity", principal={
            "Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"})),
         "iam-trust-restricted", "no :sub condition"),
        ("iam-user-key", lambda: aws.iam.AccessKey("k", user="ci"), "iam-no-long-lived-keys", "access key"),
        ("gcp-sa-key", lambda: gcp.serviceaccount.Key("k", service_account_id="sa"), "iam-no-long-lived-keys",
         "service account key"),
        ("kms-key-public", P.kms_key("*"), "no-public-principals", "kms:* to any principal"),
        ("kms-key-policy-public", P.kms_key(ADMIN, separate=True), "no-public-principals", "any principal"),
        ("kms-crypto-key-allusers", lambda: gcp.kms.CryptoKeyIAMMember(
            "m", crypto_key_id="k", role="roles/cloudkms.cryptoKeyDecrypter", member="allUsers"),
         "no-public-principals", "allUsers"),
        ("s3-policy-public", P.bucket_policy("*"), "storage-no-public-access", "any principal"),
        ("s3-acl-public-write", lambda: aws.s3.Bucket("b", bucket="b", acl="public-read-write"),
         "storage-no-public-access", "public-read-write"),
        ("gcs-iam-policy-allusers", lambda: gcp.storage.BucketIAMPolicy("p", bucket="b", policy_data=json.dumps(
            {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]})),
         "storage-no-public-access", "allUsers"),
        ("gcs-iam-binding-authenticated", lambda: gcp.storage.BucketIAMBinding(
            "b", bucket="b", role="roles/storage.objectViewer", members=["allAuthenticatedUsers"]),
         "storage-no-public-access", "allAuthenticatedUsers"),
        ("gcs-iam-member-allusers", lambda: gcp.storage.BucketIAMMember(
            "m", bucket="b", role="roles/storage.objectViewer", member="allUsers"), "storage-no-public-access",
         "allUsers"),
        ("gcs-default-object-acl", lambda: gcp.storage.DefaultObjectAccessControl(
            "d", bucket="b", role="READER", entity="allUsers"), "storage-no-public-access", "allUsers"),
    ],
    "GKE hardening": [
        ("gke-legacy-abac", P.gke_cluster(enable_legacy_abac=True), "gke-control-plane-hardening", "ABAC"),
        ("gke-client-certificate", P.gke_cluster(master_auth={"client_certificate_config": {
            "issue_client_certificate": True}}), "gke-control-plane-hardening", "client certificate"),
        ("gke-network-policy-off", P.gke_cluster(datapath_provider="LEGACY_DATAPATH", network_policy={
            "enabled": False}), "gke-control-plane-hardening", "NetworkPolicy"),
        ("gke-logging-off", P.gke_cluster(logging_service="none"), "k8s-control-plane-logging", "loggingService"),
        ("gke-monitoring-off", P.gke_cluster(monitoring_service="none"), "k8s-control-plane-logging",
         "monitoringService"),
        ("gke-no-release-channel", P.gke_cluster(release_channel={"channel": "UNSPECIFIED"}),
         "gke-control-plane-hardening", "release channel"),
        ("gke-auto-repair-off", P.gke_node_pool(management={"auto_repair": False, "auto_upgrade": True}),
         "gke-node-hardening", "autoRepair"),
        ("gke-auto-upgrade-off", P.gke_node_pool(management={"auto_repair": True, "auto_upgrade": False}),
         "gke-node-hardening", "autoUpgrade"),
        ("gke-broad-scopes", P.gke_node_pool(service_account=None), "gke-node-hardening", "broad OAuth scopes"),
        ("gke-legacy-metadata", P.gke_node_pool(metadata={"disable-legacy-endpoints": "false"}),
         "gke-node-hardening", "legacy Compute Engine metadata"),
    ],
    "EKS and EC2": [
        ("eks-logging-off", P.eks_cluster(("api",)), "k8s-control-plane-logging", "audit"),
        ("ec2-imdsv1", P.instance(tokens="optional"), "ec2-imdsv2", "httpTokens"),
        ("ec2-public-ip", P.instance(public=True), "nodes-no-public-ip", "public IP"),
        ("asg-launch-template-gpus", P.asg_with_template(max_size=500), "gpu-max-per-pool", "4000 GPUs"),
        ("asg-launch-template-stack", P.asg_with_template(max_size=500), "gpu-max-per-stack", "4000 GPUs"),
        ("node-group-launch-template-gpus", P.node_group_with_template(max_size=100), "gpu-max-per-pool", "800 GPUs"),
        ("ec2-gpu-not-allowed", P.instance("p4d.24xlarge"), "gpu-instance-allowlist", "p4d.24xlarge"),
        ("spot-fleet-gpus", spot_fleet, "gpu-max-per-pool", "2400 GPUs"),
        ("gke-inline-pool-gpus", P.gke_inline_gpu_pools(100), "gpu-max-per-pool", "800 GPUs"),
        ("gke-autoprovisioning-gpus", P.gke_autoprovisioning(4000), "gpu-max-per-stack", "4000 GPUs"),
        ("gce-mig-gpus", mig_with_autoscaler, "gpu-max-per-pool", "1600 GPUs"),
        ("karpenter-unbounded", P.karpenter_pool(), "gpu-max-per-stack", "without bound"),
        ("ecr-mutable", P.ecr("MUTABLE"), "container-registry-hardened", "mutable"),
        ("ecr-no-scan", P.ecr(scan=False), "container-registry-hardened", "scanned"),
    ],
    "Kubernetes": [
        ("host-network", P.workload(pod={"hostNetwork": True}), "k8s-no-host-namespaces", "hostNetwork"),
        ("host-pid", P.workload(pod={"hostPID": True}), "k8s-no-host-namespaces", "hostPID"),
        ("host-ipc", P.workload(pod={"hostIPC": True}), "k8s-no-host-namespaces", "hostIPC"),
        ("host-path", P.workload(pod={"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}), "k8s-no-host-path",
         "mounts / from the node"),
        ("cap-net-admin", P.workload(container={"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}),
         "k8s-capabilities-restricted", "NET_ADMIN"),
        ("cap-net-raw", P.workload(container={"securityContext": {"capabilities": {"add": ["NET_RAW"]}}}),
         "k8s-capabilities-restricted", "NET_RAW"),
        ("privilege-escalation", P.workload(container={"securityContext": {"allowPrivilegeEscalation": True}}),
         "k8s-no-privilege-escalation", "privilege escalation"),
        ("seccomp-unconfined", P.workload(pod={"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
         "k8s-seccomp-profile", "Unconfined"),
        ("writable-root", P.workload(container={"securityContext": {"readOnlyRootFilesystem": False}}),
         "k8s-read-only-root-fs", "root filesystem"),
        ("secret-in-env", P.workload(container={"env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"}]}),
         "k8s-no-secrets-in-env", "plain text"),
        ("default-namespace", P.workload(namespace=None), "k8s-no-default-namespace", "'default' namespace"),
        ("init-without-resources", P.workload(pod={"initContainers": [{"name": "init", "image": "busybox:1.36"}]}),
         "k8s-resources-set", "container 'init' has no"),
        ("helm-privileged", P.helm_release({"controller": {"securityContext": {"privileged": True}}}),
         "k8s-no-privileged", "privileged is true"),
        ("helm-host-network", P.helm_release({"hostNetwork": True}), "k8s-no-host-namespaces", "hostNetwork"),
        ("gpu-pod-without-toleration", P.workload(container={"resources": {
            "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
            "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"}}}), "k8s-resources-set", "does not tolerate"),
    ],
    "loopholes": [
        ("bucket-v2-public-acl", lambda: aws.s3.BucketV2("b", bucket="b", acl="public-read"),
         "storage-no-public-access", "public-read"),
        ("bucket-acl-v2-public", lambda: aws.s3.BucketAclV2("a", bucket="b", acl="public-read"),
         "storage-no-public-access", "public-read"),
        ("sse-v2-not-kms", lambda: aws.s3.BucketServerSideEncryptionConfigurationV2("s", bucket="b", rules=[
            {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]), "storage-encrypted-cmk",
         "SSE-KMS"),
        ("bucket-v2-no-companions", bucket_v2_without_companions, "s3-bucket-companions", "no public access block"),
        ("device-plugin-name-only", P.device_plugin(image="docker.io/evil/miner:1", privileged=True),
         "k8s-no-privileged", "privileged"),
        ("device-plugin-name-only-hostpath", P.device_plugin(image="docker.io/evil/miner:1"), "k8s-no-host-path",
         "/var/lib/kubelet/device-plugins"),
        ("device-plugin-extra-privilege", P.device_plugin(privileged=True), "k8s-no-privileged", "privileged"),
        ("deprecated-api-privileged", P.workload(kind="ExtensionsDeployment", container=PRIV), "k8s-no-privileged",
         "privileged"),
        ("patch-privileged", P.workload(kind="DeploymentPatch", container=PRIV), "k8s-no-privileged", "privileged"),
        ("cronjob-beta-host-pid", P.workload(kind="CronJobBeta", pod={"hostPID": True}), "k8s-no-host-namespaces",
         "hostPID"),
        ("gpu-pool-40000", gpu_pool_40000_gpus, "gpu-max-per-pool", "40000 GPUs"),
        ("gpu-stack-40000", gpu_pool_40000_gpus, "gpu-max-per-stack", "40000 GPUs"),
        ("service-ssh-minimal", lambda: k8s.core.v1.Service("s", metadata={"name": "s", "namespace": "x"}, spec={
            "type": "LoadBalancer", "ports": [{"port": 22}]}), "network-no-public-admin-ports", "SSH (22)"),
    ],
}
CASES = [pytest.param(case_id, program, policy, words, id=f"{cls}:{case_id}")
         for cls, cases in CLASSES.items() for case_id, program, policy, words in cases]


def test_the_table_is_big_enough_and_covers_every_class():
    assert len(CASES) >= 60
    assert all(len(cases) >= 8 for cases in CLASSES.values())
    names = {p.name for p in ALL_POLICIES}
    assert {policy for cases in CLASSES.values() for _, _, policy, _ in cases} <= names


@pytest.mark.parametrize("case_id,program,policy,words", CASES)
def test_misconfiguration_is_caught_at_its_level(case_id, program, policy, words):
    plan = run_program(program)
    prod = evaluate(plan, PROD)
    caught = [v for v in prod.violations if v.policy == policy and words in v.message]
    assert caught, (policy, words, [(v.policy, v.message) for v in prod.violations])
    assert {v.enforcement for v in caught} == {"mandatory"}, caught
    dev = evaluate(plan, DEV)
    levels = {v.enforcement for v in dev.violations if v.policy == policy and words in v.message}
    assert levels == {"mandatory" if policy in HARD else "advisory"}, (policy, levels)
    assert not prod.exempted or all(n.policy != policy for n in prod.exempted)
