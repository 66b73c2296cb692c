"""Small Pulumi programs built from the real SDK classes: one misconfiguration (or its fix) each, for the policy,
adversarial and exemption tests."""
from __future__ import annotations

import copy
import json

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ANY = "0.0.0.0/0"


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", principal=None, condition=None, not_action=None) -> dict:
    stmt = {"Effect": "Allow", "Resource": resource}
    stmt.update({"NotAction": not_action} if not_action else {"Action": action})
    if principal is not None:
        stmt["Principal"] = principal
    if condition:
        stmt["Condition"] = condition
    return stmt


# ---- network ----------------------------------------------------------------------------------------------

def sg(port=22, cidr=ANY, protocol="tcp", to_port=None, ipv6=False):
    rule = {"protocol": protocol, "from_port": port, "to_port": port if to_port is None else to_port,
            **({"ipv6_cidr_blocks": [cidr]} if ipv6 else {"cidr_blocks": [cidr]})}
    return lambda: aws.ec2.SecurityGroup("sg", vpc_id="vpc-1", description="x", ingress=[rule])


def sg_rule(port_from=0, port_to=65535, cidr=ANY):
    return lambda: aws.ec2.SecurityGroupRule("r", type="ingress", security_group_id="sg-1", protocol="tcp",
                                             from_port=port_from, to_port=port_to, cidr_blocks=[cidr])


def vpc_ingress(port=22, cidr=ANY):
    return lambda: aws.vpc.SecurityGroupIngressRule("r", security_group_id="sg-1", ip_protocol="tcp",
                                                    from_port=port, to_port=port, cidr_ipv4=cidr)


def nacl_rule(port=3389, cidr=ANY, action="allow"):
    return lambda: aws.ec2.NetworkAclRule("n", network_acl_id="acl-1", rule_number=100, egress=False,
                                          protocol="tcp", rule_action=action, cidr_block=cidr, from_port=port,
                                          to_port=port)


def firewall(ports=("22",), sources=(ANY,), protocol="tcp"):
    allows = [{"protocol": protocol, **({"ports": list(ports)} if ports else {})}]
    return lambda: gcp.compute.Firewall("fw", network="default", direction="INGRESS", allows=allows,
                                        source_ranges=list(sources) if sources else None)


def firewall_policy_rule(port="3389", source=ANY):
    return lambda: gcp.compute.NetworkFirewallPolicyRule(
        "fpr", firewall_policy="policy", priority=1000, action="allow", direction="INGRESS",
        match={"src_ip_ranges": [source], "layer4_configs": [{"ip_protocol": "tcp", "ports": [port]}]})


def lb_service(port=22, source_ranges=None, internal=False):
    annotations = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"} if internal else None
    return lambda: k8s.core.v1.Service("svc", metadata={"name": "ssh", "namespace": "ops", "annotations": annotations},
                                       spec={"type": "LoadBalancer", "selector": {"app": "x"},
                                             "loadBalancerSourceRanges": source_ranges,
                                             "ports": [{"port": port, "targetPort": port, "protocol": "TCP"}]})


def vpc(flow_logs=True, default_sg=True, default_sg_rules=False):
    def program():
        v = aws.ec2.Vpc("vpc", cidr_block="10.64.0.0/16")
        if flow_logs:
            aws.ec2.FlowLog("fl", vpc_id=v.id, traffic_type="ALL", log_destination_type="s3",
                            log_destination="arn:aws:s3:::logs")
        if default_sg:
            rules = [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [ANY]}] if default_sg_rules \
                else None
            aws.ec2.DefaultSecurityGroup("dsg", vpc_id=v.id, ingress=rules)
    return program


def subnetwork(logs=True, auto_subnets=False):
    def program():
        net = gcp.compute.Network("net", auto_create_subnetworks=auto_subnets)
        gcp.compute.Subnetwork("sub", network=net.id, region="us-central1", ip_cidr_range="10.96.0.0/19",
                               log_config={"aggregation_interval": "INTERVAL_1_MIN"} if logs else None)
    return program


# ---- identity ---------------------------------------------------------------------------------------------

def iam_policy(*statements):
    return lambda: aws.iam.Policy("p", policy=doc(*statements))


def role_policy(*statements):
    return lambda: aws.iam.RolePolicy("rp", role="r", policy=doc(*statements))


def user_policy(*statements):
    return lambda: aws.iam.UserPolicy("up", user="u", policy=doc(*statements))


def role(trust=None, inline=None, managed=None):
    trust = trust or allow("sts:AssumeRole", principal={"Service": "ec2.amazonaws.com"})
    trust = {k: v for k, v in trust.items() if k != "Resource"}
    return lambda: aws.iam.Role("role", assume_role_policy=doc(trust),
                                inline_policies=[{"name": "inline", "policy": doc(*inline)}] if inline else None,
                                managed_policy_arns=managed)


def attachment(arn="arn:aws:iam::aws:policy/AdministratorAccess"):
    return lambda: aws.iam.RolePolicyAttachment("att", role="r", policy_arn=arn)


def kms_key(principal="*", condition=None, separate=False):
    policy = doc(allow("kms:*", principal=principal, condition=condition))
    if separate:
        return lambda: aws.kms.KeyPolicy("kp", key_id="k", policy=policy)
    return lambda: aws.kms.Key("k", enable_key_rotation=True, policy=policy)


def bucket_policy(principal="*", condition=None):
    return lambda: aws.s3.BucketPolicy("bp", bucket="b", policy=doc(
        allow("s3:GetObject", "arn:aws:s3:::b/*", principal=principal, condition=condition)))


# ---- GKE --------------------------------------------------------------------------------------------------

def gke_cluster(**overrides):
    base = dict(location="us-central1", remove_default_node_pool=True, initial_node_count=1,
                release_channel={"channel": "STABLE"}, datapath_provider="ADVANCED_DATAPATH",
                enable_shielded_nodes=True, workload_identity_config={"workload_pool": "p.svc.id.goog"},
                private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": True,
                                        "master_ipv4_cidr_block": "10.0.0.0/28"})
    base.update(overrides)
    return lambda: gcp.container.Cluster("gke", **base)


def gke_node_pool(management=None, service_account="nodes@p.iam.gserviceaccount.com", scopes=None, metadata=None,
                  image="COS_CONTAINERD", machine="n2-standard-4", max_nodes=3, taints=None, labels=None):
    node = {"machine_type": machine, "image_type": image, "service_account": service_account,
            "oauth_scopes": scopes or ["https://www.googleapis.com/auth/cloud-platform"],
            "workload_metadata_config": {"mode": "GKE_METADATA"}, "metadata": metadata, "taints": taints,
            "labels": labels,
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True}}
    return lambda: gcp.container.NodePool(
        "np", cluster="c", location="us-central1", node_locations=["us-central1-a"],
        management=management or {"auto_repair": True, "auto_upgrade": True}, node_config=node,
        autoscaling={"total_min_node_count": 0, "total_max_node_count": max_nodes})


# ---- EKS, EC2 and GPU launchers ---------------------------------------------------------------------------

def eks_cluster(log_types=("api", "audit", "authenticator", "controllerManager", "scheduler")):
    return lambda: aws.eks.Cluster("eks", role_arn="arn:aws:iam::123456789012:role/eks",
                                   vpc_config={"subnet_ids": ["subnet-0a"], "endpoint_public_access": False},
                                   enabled_cluster_log_types=list(log_types))


def instance(itype="m6i.large", tokens="required", public=False):
    return lambda: aws.ec2.Instance("vm", ami="ami-0123456789abcdef0", instance_type=itype,
                                    metadata_options={"http_tokens": tokens, "http_put_response_hop_limit": 1},
                                    associate_public_ip_address=public)


def asg_with_template(itype="p5.48xlarge", max_size=500):
    def program():
        lt = aws.ec2.LaunchTemplate("lt", instance_type=itype, metadata_options={"http_tokens": "required"})
        aws.autoscaling.Group("asg", min_size=0, max_size=max_size, vpc_zone_identifiers=["subnet-0a"],
                              launch_template={"id": lt.id, "version": "$Latest"})
    return program


def node_group_with_template(itype="p5.48xlarge", max_size=100):
    def program():
        lt = aws.ec2.LaunchTemplate("lt", instance_type=itype, metadata_options={"http_tokens": "required"})
        aws.eks.NodeGroup("ng", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                          subnet_ids=["subnet-0a"], launch_template={"id": lt.id, "version": lt.latest_version},
                          scaling_config={"min_size": 0, "desired_size": 0, "max_size": max_size})
    return program


def gke_inline_gpu_pools(nodes=100):
    return gke_cluster(node_pools=[{"name": "gpu", "node_count": nodes, "node_config": {
        "machine_type": "a3-highgpu-8g", "service_account": "nodes@p.iam.gserviceaccount.com",
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]}}],
        remove_default_node_pool=None)


def gke_autoprovisioning(maximum=4000):
    return gke_cluster(cluster_autoscaling={"enabled": True, "resource_limits": [
        {"resource_type": "cpu", "maximum": 100000}, {"resource_type": "memory", "maximum": 1000000},
        {"resource_type": "nvidia-h100-80gb", "maximum": maximum}]})


def karpenter_pool(gpu_limit=None):
    spec = {"template": {"spec": {"requirements": [
        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["p5"]}],
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"}}}}
    if gpu_limit is not None:
        spec["limits"] = {"nvidia.com/gpu": gpu_limit}
    return lambda: k8s.apiextensions.CustomResource("gpu", api_version="karpenter.sh/v1", kind="NodePool",
                                                    metadata={"name": "gpu"}, spec=spec)


def ecr(mutability="IMMUTABLE", scan=True):
    return lambda: aws.ecr.Repository("repo", image_tag_mutability=mutability,
                                      image_scanning_configuration={"scan_on_push": scan})


# ---- Kubernetes -------------------------------------------------------------------------------------------

SAFE_CONTAINER = {
    "name": "app", "image": "ghcr.io/a/serve:1.2.3",
    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]}},
    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
    "livenessProbe": {"httpGet": {"path": "/livez", "port": 8080}},
}
SAFE_POD = {"securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [SAFE_CONTAINER]}
KINDS = {"Deployment": k8s.apps.v1.Deployment, "DaemonSet": k8s.apps.v1.DaemonSet, "Job": k8s.batch.v1.Job,
         "ExtensionsDeployment": k8s.extensions.v1beta1.Deployment, "DeploymentPatch": k8s.apps.v1.DeploymentPatch,
         "CronJobBeta": k8s.batch.v1beta1.CronJob}


def _merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in change.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def workload(pod=None, container=None, kind="Deployment", namespace="serving", name="app", extra_containers=()):
    """A hardened workload with ``pod``/``container`` merged in (a value of None removes nothing: pass what to set)."""
    spec_pod = _merge(SAFE_POD, pod or {})
    spec_pod["containers"] = [_merge(SAFE_CONTAINER, container or {}), *extra_containers]

    def program():
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        template = {"metadata": {"labels": {"app": name}}, "spec": spec_pod}
        if kind == "CronJobBeta":
            spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
        elif kind == "Job":
            spec = {"template": {**template, "spec": {**spec_pod, "restartPolicy": "Never"}}}
        else:
            spec = {"selector": {"matchLabels": {"app": name}}, "template": template}
        KINDS[kind](name, metadata=meta, spec=spec)
    return program


def helm_release(values, chart="some-chart", repo="https://charts.example.com", namespace="tools"):
    return lambda: k8s.helm.v3.Release("rel", name="rel", chart=chart, namespace=namespace, values=values,
                                       repository_opts={"repo": repo})


def device_plugin(image="nvcr.io/nvidia/k8s-device-plugin:v0.17.1", privileged=False, name="nvidia-device-plugin",
                  namespace="kube-system"):
    """The NVIDIA device plugin DaemonSet as upstream ships it (hostPath, root), optionally privileged."""
    container = {"name": "nvidia-device-plugin-ctr", "image": image,
                 "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                     **({"privileged": True} if privileged else {})},
                 "volumeMounts": [{"name": "dp", "mountPath": "/var/lib/kubelet/device-plugins"}]}
    pod = {"containers": [container], "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
           "volumes": [{"name": "dp", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}]}
    return lambda: k8s.apps.v1.DaemonSet(name, metadata={"name": name, "namespace": namespace}, spec={
        "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": pod}})


def opts(provider) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(provider=provider)
