"""The hardening policies of issue 18: each fails on a misconfigured resource and passes on its fixed twin, both
declared with the real SDK classes (aliases and Helm values included). Cases of the older policies live in
test_resource_policies.py; together they cover every resource policy."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest

from tests.policies import programs as P
from tests.policies.helpers import check

ROOT = {"AWS": "arn:aws:iam::123456789012:root"}
SA = "serviceAccount:x@p.iam.gserviceaccount.com"
SECRET_VOLUME = {"volumes": [{"name": "creds", "secret": {"secretName": "db"}}]}


def s3(cls, **kw):
    return lambda: cls("b", bucket="b", **kw)


def gcs(cls, **kw):
    return lambda: cls("g", bucket="b", **kw)


def gce_instance(public: bool):
    nic = {"network": "default", **({"access_configs": [{}]} if public else {})}
    return lambda: gcp.compute.Instance("vm", machine_type="n2-standard-4", zone="us-central1-a",
                                        boot_disk={"initialize_params": {"image": "cos-cloud/cos-stable"}},
                                        network_interfaces=[nic])


def tainted_inline_pool(taint: bool):
    taints = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}] if taint else None
    return P.gke_cluster(remove_default_node_pool=None, node_pools=[{"name": "gpu", "node_count": 1, "node_config": {
        "machine_type": "g2-standard-8", "taints": taints}}])


def karpenter_types(*types):
    spec = {"limits": {"nvidia.com/gpu": 8}, "template": {"spec": {"requirements": [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(types)}]}}}
    return lambda: k8s.apiextensions.CustomResource("gpu", api_version="karpenter.sh/v1", kind="NodePool",
                                                    metadata={"name": "gpu"}, spec=spec)


def repository_policy(principal):
    return lambda: aws.ecr.RepositoryPolicy("rp", repository="repo", policy=P.doc(
        {"Effect": "Allow", "Principal": principal, "Action": "ecr:BatchGetImage"}))


def artifact_registry(immutable: bool):
    return lambda: gcp.artifactregistry.Repository("ar", location="us-central1", repository_id="images",
                                                   format="DOCKER", docker_config={"immutable_tags": immutable})


def node_group_ssh(source_groups):
    return lambda: aws.eks.NodeGroup("ng", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                                     subnet_ids=["subnet-0a"], instance_types=["m6i.large"],
                                     scaling_config={"min_size": 1, "desired_size": 1, "max_size": 2},
                                     remote_access={"ec2_ssh_key": "ops", "source_security_group_ids": source_groups})


def default_namespace_provider():
    """A Deployment without metadata.namespace under a provider whose default namespace is ``serving``."""
    def program():
        prov = k8s.Provider("k", namespace="serving")
        k8s.apps.v1.Deployment("d", metadata={"name": "d"}, spec={
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": P.SAFE_POD}},
            opts=pulumi.ResourceOptions(provider=prov))
    return program


GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
GPU_LIMITS = {"resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                            "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"}}}

CASES = {
    # policy: [(bad program, good program, expected words in a message)]
    "network-no-public-admin-ports": [
        (P.sg(22), P.sg(443), "SSH (22) from 0.0.0.0/0"),
        (P.sg(3389, cidr="::/0", ipv6=True), P.sg(3389, cidr="10.0.0.0/8"), "RDP (3389) from ::/0"),
        (P.sg(0, protocol="-1", to_port=0), P.sg(0, protocol="-1", to_port=0, cidr="10.64.0.0/10"), "all ports"),
        (P.sg_rule(0, 65535), P.sg_rule(443, 443), "all ports"),
        (P.vpc_ingress(22), P.vpc_ingress(22, cidr="10.0.0.0/8"), "SSH (22)"),
        (P.nacl_rule(3389), P.nacl_rule(3389, action="deny"), "RDP (3389)"),
        (P.firewall(("22",)), P.firewall(("22",), sources=("35.235.240.0/20",)), "SSH (22)"),
        (P.firewall((), sources=(), protocol="all"), P.firewall((), sources=("10.64.0.0/10",), protocol="all"),
         "all ports from 0.0.0.0/0 (no source given)"),
        (P.firewall(("20-30",)), P.firewall(("443",)), "SSH (22)"),
        (P.firewall_policy_rule("3389"), P.firewall_policy_rule("3389", source="10.0.0.0/8"), "RDP (3389)"),
        (P.lb_service(22), P.lb_service(22, internal=True), "internet-facing LoadBalancer"),
        (P.lb_service(3389, source_ranges=["0.0.0.0/0"]), P.lb_service(3389, source_ranges=["203.0.113.0/24"]),
         "RDP (3389)"),
        (node_group_ssh(None), node_group_ssh(["sg-0bastion"]), "remoteAccess without sourceSecurityGroupIds"),
    ],
    "iam-no-wildcard-admin": [
        (P.iam_policy(P.allow("*")), P.iam_policy(P.allow("s3:GetObject", "arn:aws:s3:::b/*")), "Action: *"),
        (P.role_policy(P.allow("s3:*")), P.role_policy(P.allow("s3:*", "arn:aws:s3:::b/*")), "s3:* on every resource"),
        (P.user_policy(P.allow("iam:PassRole")), P.user_policy(P.allow("iam:PassRole", "arn:aws:iam::1:role/x")),
         "privilege escalation"),
        (P.role(inline=[P.allow("*:*")]), P.role(inline=[P.allow("ec2:DescribeInstances")]), "inlinePolicies[0]"),
        (P.iam_policy(P.allow(None, not_action=["iam:*"])),
         P.iam_policy(P.allow("ec2:Describe*", "*", condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})),
         "NotAction"),
        (P.iam_policy(P.allow("iam:*", "arn:aws:iam::1:role/x")), P.iam_policy(P.allow("iam:GetRole",
                                                                                    "arn:aws:iam::1:role/x")), "iam:*"),
        (P.attachment(), P.attachment("arn:aws:iam::aws:policy/ReadOnlyAccess"), "AdministratorAccess"),
        (P.role(managed=["arn:aws:iam::aws:policy/IAMFullAccess"]), P.role(), "IAMFullAccess"),
        (P.role_policy(P.allow(["secretsmanager:GetSecretValue"])),
         P.role_policy(P.allow(["secretsmanager:GetSecretValue"], "arn:aws:secretsmanager:us-east-1:1:secret:hf-*")),
         "any bucket, parameter or secret"),
    ],
    "iam-trust-restricted": [
        (P.role(P.allow("sts:AssumeRole", principal={"AWS": "*"})), P.role(P.allow("sts:AssumeRole", principal=ROOT)),
         "any AWS principal"),
        (P.role(P.allow("sts:AssumeRole", principal="*")),
         P.role(P.allow("sts:AssumeRole", principal="*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})),
         "any AWS principal"),
        (P.role(P.allow("sts:AssumeRoleWithWebIdentity",
                        principal={"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
                        condition={"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})),
         P.role(P.allow("sts:AssumeRoleWithWebIdentity",
                        principal={"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
                        condition={"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:o/r:ref:main"}})),
         "no :sub condition"),
    ],
    "iam-no-long-lived-keys": [
        (lambda: aws.iam.AccessKey("k", user="ci"), lambda: aws.iam.User("ci"), "access key for IAM user ci"),
        (lambda: gcp.serviceaccount.Key("k", service_account_id="sa"),
         lambda: gcp.serviceaccount.Account("sa", account_id="ci-runner"), "service account key"),
    ],
    "no-public-principals": [
        (P.kms_key("*"), P.kms_key(ROOT), "kms:* to any principal"),
        (P.kms_key({"AWS": "*"}, separate=True),
         P.kms_key({"AWS": "*"}, condition={"StringEquals": {"kms:CallerAccount": "123456789012"}}, separate=True),
         "any principal"),
        (repository_policy("*"), repository_policy(ROOT), "ecr:BatchGetImage"),
        (lambda: gcp.kms.CryptoKeyIAMMember("m", crypto_key_id="k", role="roles/cloudkms.cryptoKeyDecrypter",
                                            member="allUsers"),
         lambda: gcp.kms.CryptoKeyIAMMember("m", crypto_key_id="k", role="roles/cloudkms.cryptoKeyDecrypter",
                                            member=SA), "allUsers"),
        (lambda: gcp.projects.IAMMember("m", project="p", role="roles/viewer", member="allAuthenticatedUsers"),
         lambda: gcp.projects.IAMMember("m", project="p", role="roles/viewer", member="group:ml@example.com"),
         "allAuthenticatedUsers"),
        (lambda: gcp.artifactregistry.RepositoryIamBinding("b", repository="r", location="us-central1",
                                                           role="roles/artifactregistry.reader", members=["allUsers"]),
         lambda: gcp.artifactregistry.RepositoryIamBinding("b", repository="r", location="us-central1",
                                                           role="roles/artifactregistry.reader", members=[SA]),
         "allUsers"),
    ],
    "gke-control-plane-hardening": [
        (P.gke_cluster(enable_legacy_abac=True), P.gke_cluster(enable_legacy_abac=False), "enableLegacyAbac"),
        (P.gke_cluster(master_auth={"client_certificate_config": {"issue_client_certificate": True}}),
         P.gke_cluster(master_auth={"client_certificate_config": {"issue_client_certificate": False}}),
         "client certificate"),
        (P.gke_cluster(datapath_provider="LEGACY_DATAPATH", network_policy={"enabled": False}),
         P.gke_cluster(datapath_provider="LEGACY_DATAPATH", network_policy={"enabled": True}), "NetworkPolicy"),
        (P.gke_cluster(release_channel={"channel": "UNSPECIFIED"}), P.gke_cluster(), "release channel"),
        (P.gke_cluster(release_channel=None), P.gke_cluster(release_channel={"channel": "REGULAR"}),
         "release channel"),
        (P.gke_cluster(enable_kubernetes_alpha=True), P.gke_cluster(enable_kubernetes_alpha=False), "alpha"),
    ],
    "gke-node-hardening": [
        (P.gke_node_pool(management={"auto_repair": False, "auto_upgrade": True}), P.gke_node_pool(), "autoRepair"),
        (P.gke_node_pool(management={"auto_repair": True, "auto_upgrade": False}), P.gke_node_pool(), "autoUpgrade"),
        (P.gke_node_pool(service_account=None), P.gke_node_pool(), "cloud-platform"),
        (P.gke_node_pool(service_account="123-compute@developer.gserviceaccount.com",
                         scopes=["https://www.googleapis.com/auth/logging.write"]),
         P.gke_node_pool(scopes=["https://www.googleapis.com/auth/logging.write"]), "default service account"),
        (P.gke_node_pool(metadata={"disable-legacy-endpoints": "false"}),
         P.gke_node_pool(metadata={"disable-legacy-endpoints": "true"}), "legacy Compute Engine metadata"),
        (P.gke_node_pool(image="UBUNTU_CONTAINERD"), P.gke_node_pool(image="COS_CONTAINERD"), "Container-Optimized"),
        (P.gke_cluster(remove_default_node_pool=None), P.gke_cluster(remove_default_node_pool=None, node_config={
            "service_account": "nodes@p.iam.gserviceaccount.com",
            "workload_metadata_config": {"mode": "GKE_METADATA"}}),
         "nodeConfig runs as the Compute Engine default service account"),
    ],
    "k8s-control-plane-logging": [
        (P.eks_cluster(("api",)), P.eks_cluster(), "audit"),
        (P.gke_cluster(logging_service="none"), P.gke_cluster(logging_service="logging.googleapis.com/kubernetes"),
         "loggingService"),
        (P.gke_cluster(monitoring_service="none"), P.gke_cluster(), "monitoringService"),
        (P.gke_cluster(logging_config={"enable_components": []}),
         P.gke_cluster(logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]}),
         "SYSTEM_COMPONENTS"),
    ],
    "container-registry-hardened": [
        (P.ecr("MUTABLE"), P.ecr("IMMUTABLE"), "mutable"),
        (P.ecr(scan=False), P.ecr(), "scanned"),
        (artifact_registry(False), artifact_registry(True), "immutableTags"),
    ],
    "k8s-no-host-namespaces": [
        (P.workload(pod={"hostNetwork": True}), P.workload(pod={"hostNetwork": False}), "hostNetwork"),
        (P.workload(pod={"hostPID": True}), P.workload(), "hostPID"),
        (P.workload(pod={"hostIPC": True}), P.workload(), "hostIPC"),
        (P.helm_release({"agent": {"hostNetwork": True}}), P.helm_release({"agent": {"hostNetwork": False}}),
         "values.agent.hostNetwork"),
    ],
    "k8s-no-host-path": [
        (P.workload(pod={"volumes": [{"name": "h", "hostPath": {"path": "/etc"}}]}),
         P.workload(pod={"volumes": [{"name": "h", "emptyDir": {}}]}), "mounts /etc from the node"),
        (P.workload(pod={"volumes": [{"name": "s", "hostPath": {"path": "/run/containerd/containerd.sock"}}]}),
         P.workload(), "container runtime's socket"),
        (P.workload(container={"ports": [{"containerPort": 80, "hostPort": 80}]}),
         P.workload(container={"ports": [{"containerPort": 80}]}), "hostPort 80"),
        (P.helm_release({"volumes": [{"name": "h", "hostPath": {"path": "/var/log"}}]}),
         P.helm_release({"volumes": [{"name": "h", "emptyDir": {}}]}), "mounts /var/log"),
    ],
    "k8s-no-privilege-escalation": [
        (P.workload(container={"securityContext": {"allowPrivilegeEscalation": True}}), P.workload(),
         "allows privilege escalation"),
        (P.workload(container={"securityContext": {"allowPrivilegeEscalation": None}}), P.workload(),
         "allows privilege escalation"),
        # a patch is judged on what it sets: leaving the field out keeps the live object's value
        (P.workload(kind="DeploymentPatch", container={"securityContext": {"allowPrivilegeEscalation": True}}),
         P.workload(kind="DeploymentPatch", container={"securityContext": {"allowPrivilegeEscalation": None}}),
         "allows privilege escalation"),
        (P.helm_release({"securityContext": {"allowPrivilegeEscalation": True}}),
         P.helm_release({"securityContext": {"allowPrivilegeEscalation": False}}), "allowPrivilegeEscalation"),
    ],
    "k8s-capabilities-restricted": [
        (P.workload(container={"securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}}),
         P.workload(container={"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}}),
         "NET_ADMIN"),
        (P.workload(container={"securityContext": {"capabilities": {"add": ["NET_RAW"], "drop": ["ALL"]}}}),
         P.workload(), "NET_RAW"),
        (P.workload(container={"securityContext": {"capabilities": {"drop": ["NET_ADMIN"]}}}), P.workload(),
         "does not drop ALL"),
        (P.workload(container={"securityContext": {"capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}}}),
         P.workload(), "SYS_ADMIN"),
        (P.helm_release({"securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}),
         P.helm_release({"securityContext": {"capabilities": {"drop": ["ALL"]}}}), "SYS_PTRACE"),
    ],
    "k8s-seccomp-profile": [
        (P.workload(pod={"securityContext": {"seccompProfile": {"type": "Unconfined"}}}), P.workload(), "Unconfined"),
        (P.workload(container={"securityContext": {"seccompProfile": {"type": "Unconfined"}}}), P.workload(),
         "Unconfined"),
        (P.workload(pod={"securityContext": {"seccompProfile": None}}),
         P.workload(pod={"securityContext": {"seccompProfile": None}},
                    container={"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}),
         "no RuntimeDefault seccomp profile"),
        (P.helm_release({"podSecurityContext": {"seccompProfile": {"type": "Unconfined"}}}),
         P.helm_release({"podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}), "Unconfined"),
    ],
    "k8s-read-only-root-fs": [
        (P.workload(container={"securityContext": {"readOnlyRootFilesystem": False}}), P.workload(),
         "can write its root filesystem"),
        (P.workload(kind="Job", container={"securityContext": {"readOnlyRootFilesystem": None}}),
         P.workload(kind="Job"), "can write its root filesystem"),
        (P.helm_release({"securityContext": {"readOnlyRootFilesystem": False}}),
         P.helm_release({"securityContext": {"readOnlyRootFilesystem": True}}), "readOnlyRootFilesystem"),
    ],
    "k8s-no-secrets-in-env": [
        (P.workload(container={"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}),
         P.workload(container={"env": [{"name": "DB_HOST", "value": "db.internal"}]}), "DB_PASSWORD in plain text"),
        (P.workload(container={"env": [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf",
                                                                                            "key": "token"}}}]}),
         P.workload(pod=SECRET_VOLUME, container={"volumeMounts": [{"name": "creds", "mountPath": "/var/run/creds",
                                                                    "readOnly": True}]}), "reads Secret into env"),
        (P.workload(container={"envFrom": [{"secretRef": {"name": "all"}}]}),
         P.workload(container={"envFrom": [{"configMapRef": {"name": "settings"}}]}), "envFrom"),
    ],
    "k8s-no-default-namespace": [
        (P.workload(namespace=None), P.workload(namespace="serving"), "'default' namespace"),
        (P.workload(namespace="default"), default_namespace_provider(), "'default' namespace"),
        (P.workload(kind="Job", namespace="default"), P.workload(kind="Job"), "'default' namespace"),
    ],
}
PARAMS = [pytest.param(name, *case, id=f"{name}-{i}") for name, cases in CASES.items() for i, case in enumerate(cases)]

# Older policies, new ways to break them (aliases, more resource types, Helm values).
MORE = {
    "storage-no-public-access": [
        (P.bucket_policy("*"), P.bucket_policy(ROOT), "any principal"),
        (P.bucket_policy({"AWS": "*"}), P.bucket_policy("*", {"StringEquals": {"aws:SourceVpce": "vpce-1"}}),
         "any principal"),
        (s3(aws.s3.Bucket, acl="public-read-write"), s3(aws.s3.Bucket, acl="private"), "public-read-write"),
        (s3(aws.s3.BucketV2, acl="public-read"), s3(aws.s3.BucketV2, acl="private"), "public-read"),
        (s3(aws.s3.BucketAclV2, acl="authenticated-read"), s3(aws.s3.BucketAclV2, acl="private"),
         "authenticated-read"),
        (s3(aws.s3.BucketAcl, access_control_policy={"owner": {"id": "o"}, "grants": [
            {"permission": "READ", "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}),
         s3(aws.s3.BucketAcl, access_control_policy={"owner": {"id": "o"}, "grants": [
             {"permission": "READ", "grantee": {"type": "CanonicalUser", "id": "abc"}}]}), "AllUsers"),
        (lambda: aws.s3.BucketObjectv2("o", bucket="b", key="k", content="x", acl="public-read"),
         lambda: aws.s3.BucketObjectv2("o", bucket="b", key="k", content="x", acl="private"), "object public"),
        (lambda: aws.s3.AccountPublicAccessBlock("a", block_public_acls=True, block_public_policy=False,
                                                 ignore_public_acls=True, restrict_public_buckets=True),
         lambda: aws.s3.AccountPublicAccessBlock("a", block_public_acls=True, block_public_policy=True,
                                                 ignore_public_acls=True, restrict_public_buckets=True),
         "blockPublicPolicy"),
        (gcs(gcp.storage.BucketIAMPolicy, policy_data=json.dumps({"bindings": [
            {"role": "roles/storage.objectViewer", "members": ["allUsers"]}]})),
         gcs(gcp.storage.BucketIAMPolicy, policy_data=json.dumps({"bindings": [
             {"role": "roles/storage.objectViewer", "members": [SA]}]})), "allUsers"),
        (gcs(gcp.storage.BucketIAMBinding, role="roles/storage.objectViewer", members=["allAuthenticatedUsers"]),
         gcs(gcp.storage.BucketIAMBinding, role="roles/storage.objectViewer", members=[SA]), "allAuthenticatedUsers"),
        (gcs(gcp.storage.DefaultObjectAccessControl, role="READER", entity="allUsers"),
         gcs(gcp.storage.DefaultObjectAccessControl, role="READER", entity="project-viewers-123"), "allUsers"),
        (gcs(gcp.storage.BucketACL, role_entities=["READER:allUsers"]),
         gcs(gcp.storage.BucketACL, role_entities=["OWNER:project-owners-123"]), "READER:allUsers"),
        (gcs(gcp.storage.DefaultObjectACL, role_entities=["READER:allAuthenticatedUsers"]),
         gcs(gcp.storage.DefaultObjectACL, role_entities=["OWNER:project-owners-123"]), "allAuthenticatedUsers"),
    ],
    "storage-encrypted-cmk": [
        (s3(aws.s3.BucketServerSideEncryptionConfigurationV2, rules=[
            {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]),
         s3(aws.s3.BucketServerSideEncryptionConfigurationV2, rules=[
             {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": P.KEY}}]),
         "SSE-KMS"),
    ],
    "ec2-imdsv2": [(P.instance(tokens="optional"), P.instance(), "httpTokens")],
    "nodes-no-public-ip": [(P.instance(public=True), P.instance(), "associatePublicIpAddress"),
                           (gce_instance(True), gce_instance(False), "external IP")],
    "gpu-pool-tainted": [(tainted_inline_pool(False), tainted_inline_pool(True), "nodePools[0]")],
    "gpu-instance-allowlist": [
        (P.instance("p4d.24xlarge"), P.instance("p5.48xlarge"), "p4d.24xlarge"),
        (lambda: aws.ec2.LaunchTemplate("lt", instance_type="g4dn.12xlarge"),
         lambda: aws.ec2.LaunchTemplate("lt", instance_type="g6.2xlarge"), "g4dn.12xlarge"),
        (karpenter_types("p4d.24xlarge"), karpenter_types("p5.48xlarge"), "p4d.24xlarge"),
    ],
    "k8s-no-privileged": [
        (P.helm_release({"securityContext": {"privileged": True}}),
         P.helm_release({"securityContext": {"privileged": False}}), "values.securityContext.privileged"),
        (P.workload(kind="ExtensionsDeployment", container={"securityContext": {"privileged": True}}),
         P.workload(kind="ExtensionsDeployment"), "privileged"),
        (P.workload(kind="DeploymentPatch", container={"securityContext": {"privileged": True}}),
         P.workload(kind="DeploymentPatch"), "privileged"),
        (P.workload(kind="CronJobBeta", container={"securityContext": {"privileged": True}}),
         P.workload(kind="CronJobBeta"), "privileged"),
    ],
    "k8s-non-root": [(P.helm_release({"securityContext": {"runAsUser": 0}}),
                      P.helm_release({"securityContext": {"runAsUser": 1000}}), "runs as root")],
    "k8s-resources-set": [
        (P.workload(pod={"initContainers": [{"name": "init", "image": "busybox:1.36"}]}),
         P.workload(pod={"initContainers": [{"name": "init", "image": "busybox:1.36", "resources": {
             "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}}}]}),
         "container 'init' has no requests.cpu"),
        # the message the issue found wrong: a pod that requests a GPU but does not tolerate the taint
        (P.workload(container=GPU_LIMITS), P.workload(pod={"tolerations": GPU_TOLERATION}, container=GPU_LIMITS),
         "requests nvidia.com/gpu but does not tolerate"),
    ],
}
MORE_PARAMS = [pytest.param(name, *case, id=f"{name}-more-{i}") for name, cases in MORE.items()
               for i, case in enumerate(cases)]


@pytest.mark.parametrize("name,bad,good,words", PARAMS + MORE_PARAMS)
def test_policy_fails_bad_and_passes_good(name, bad, good, words):
    violations = check(name, bad)
    assert violations, f"{name} let the bad resource through"
    assert all(v.policy == name for v in violations)
    assert any(words in v.message for v in violations), [v.message for v in violations]
    assert check(name, good) == []


def test_the_gpu_pod_message_names_the_missing_toleration_not_a_missing_request():
    """Issue 18: a GPU-requesting pod without the toleration was told it 'tolerates the GPU taint but requests no
    GPU'. It is told what is wrong, and nothing else."""
    messages = [v.message for v in check("k8s-resources-set", P.workload(container=GPU_LIMITS))]
    assert messages == ["the pod requests nvidia.com/gpu but does not tolerate the nvidia.com/gpu taint: it can never "
                        "schedule on a GPU node"]
    only_request = {"resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                                  "limits": {"memory": "1Gi"}}}
    messages = [v.message for v in check("k8s-resources-set", P.workload(pod={"tolerations": GPU_TOLERATION},
                                                                         container=only_request))]
    assert len(messages) == 1 and "requests nvidia.com/gpu but sets no limits" in messages[0]
    assert not any("no container requests" in m for m in messages)
