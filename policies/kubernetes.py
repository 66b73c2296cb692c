"""Kubernetes pod security whichever object declares the pod (any workload kind or API version, patches judged on what
they set) and in Helm values: no privileged containers, host namespaces, host paths or ports, privilege escalation,
added capabilities, unconfined seccomp, writable root filesystems or root users."""
from __future__ import annotations

from pulumi_policy import Severity

from blueprint.spec.names import GPU_RESOURCE
from policies._framework import at, falsy, items, peek, resource_policy, truthy
from policies._pods import HELM_TYPES, WORKLOAD_TYPES, containers, pod_of, walk
from policies._refs import EKS, GKE, K8S

POD_TYPES = (*WORKLOAD_TYPES, *HELM_TYPES)
PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}  # the Restricted profile's only addition
SECURE_SECCOMP = ("RuntimeDefault", "Localhost")


def _patch(args) -> bool:
    return args.resource_type.endswith("Patch")


def _helm(args) -> bool:
    return args.resource_type in HELM_TYPES


def _values(args):
    """(path, key, value) of every entry of a Helm release's ``values`` (valueYamlFiles are not visible here)."""
    return walk(peek(args.props, "values"), "values")


def _pod(args):
    return pod_of(args.resource_type, args.props)


def _named(c) -> str:
    return f"container '{at(c, 'name')}'"


def _runtime(pod) -> list:
    """Containers that run the workload's code for its lifetime or before it: regular and init."""
    return items(at(pod, "containers", [])) + items(at(pod, "initContainers", []))


@resource_policy(
    "k8s-no-privileged",
    description="No privileged containers (workloads of any API version, patches, Helm values).",
    types=POD_TYPES, severity=Severity.CRITICAL, concern="kubernetes",
    remediation=f"Remove securityContext.privileged; use the device plugin's {GPU_RESOURCE} resource instead, and "
                "list a component that truly needs it in policy.systemComponents through review.",
    url=PSS, checkov=("CKV_K8S_16",), cis=(*EKS("4.2.1"), *K8S("5.2.2")))
def k8s_no_privileged(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if key == "privileged" and truthy(value):
                report(f"{path} is true")
        return
    for c in containers(_pod(args)):
        if truthy(at(c, "securityContext.privileged")):
            report(f"{_named(c)} is privileged")


@resource_policy(
    "k8s-no-host-namespaces",
    description="Pods share no host namespace: no hostNetwork, hostPID or hostIPC.",
    types=POD_TYPES, severity=Severity.CRITICAL, concern="kubernetes",
    remediation="Remove hostNetwork/hostPID/hostIPC; expose ports through a Service.",
    url=PSS, checkov=("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),
    cis=(*EKS("4.2.2", "4.2.3", "4.2.4"), *K8S("5.2.3", "5.2.4", "5.2.5")))
def k8s_no_host_namespaces(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if key in ("hostNetwork", "hostPID", "hostIPC") and truthy(value):
                report(f"{path} is true")
        return
    pod = _pod(args)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if truthy(at(pod, key)):
            report(f"the pod sets {key}: it shares the node's namespace")


@resource_policy(
    "k8s-no-host-path",
    description="Pods mount no hostPath volume (the container runtime socket least of all) and bind no hostPort.",
    types=POD_TYPES, severity=Severity.HIGH, concern="kubernetes",
    remediation="Use emptyDir, a PersistentVolumeClaim or a CSI volume; expose ports through a Service.",
    url="https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
    checkov=("CKV_K8S_26", "CKV_K8S_27"), cis=K8S("5.2.11", "5.2.12"))
def k8s_no_host_path(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if key == "hostPath" and isinstance(value, dict) and value.get("path"):
                report(f"{path} mounts {value['path']} from the node")
        return
    pod = _pod(args)
    for v in items(at(pod, "volumes", [])):
        host = at(v, "hostPath.path")
        if host is not None:
            socket = " (the container runtime's socket: root on the node)" if str(host).endswith(".sock") else ""
            report(f"volume '{at(v, 'name')}' mounts {host} from the node{socket}")
    for c in containers(pod):
        for port in items(at(c, "ports", [])):
            host_port = at(port, "hostPort")
            if host_port is not None:
                report(f"{_named(c)} binds hostPort {int(float(host_port))} on the node")


@resource_policy(
    "k8s-no-privilege-escalation",
    description="Every container sets allowPrivilegeEscalation: false.",
    types=POD_TYPES, severity=Severity.HIGH, concern="kubernetes",
    remediation="Set securityContext.allowPrivilegeEscalation=false on every container.",
    url=PSS, checkov=("CKV_K8S_20",), cis=(*EKS("4.2.5"), *K8S("5.2.6")))
def k8s_no_privilege_escalation(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if key == "allowPrivilegeEscalation" and truthy(value):
                report(f"{path} is true")
        return
    for c in _runtime(_pod(args)):
        value = at(c, "securityContext.allowPrivilegeEscalation")
        if truthy(value) or (value is None and not _patch(args)):
            report(f"{_named(c)} allows privilege escalation (allowPrivilegeEscalation is not false)")


@resource_policy(
    "k8s-capabilities-restricted",
    description="Containers drop ALL capabilities (NET_RAW included) and add none but NET_BIND_SERVICE.",
    types=POD_TYPES, severity=Severity.HIGH, concern="kubernetes",
    remediation="Set securityContext.capabilities {drop: [ALL]} and add nothing (NET_BIND_SERVICE at most).",
    url=PSS, checkov=("CKV_K8S_25", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_39"), cis=K8S("5.2.8", "5.2.9"))
def k8s_capabilities_restricted(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            added = set(str(x) for x in (value.get("add") or [])) if key == "capabilities" and isinstance(
                value, dict) else set()
            if added - ALLOWED_ADDED_CAPABILITIES:
                report(f"{path}.add adds {', '.join(sorted(added - ALLOWED_ADDED_CAPABILITIES))}")
        return
    for c in _runtime(_pod(args)):
        added = {str(x).upper().removeprefix("CAP_") for x in items(at(c, "securityContext.capabilities.add", []))}
        if added - ALLOWED_ADDED_CAPABILITIES:
            report(f"{_named(c)} adds capabilities {', '.join(sorted(added - ALLOWED_ADDED_CAPABILITIES))}")
        dropped = {str(x).upper() for x in items(at(c, "securityContext.capabilities.drop", []))}
        if "ALL" not in dropped and not _patch(args):
            report(f"{_named(c)} does not drop ALL capabilities (NET_RAW stays)")


@resource_policy(
    "k8s-seccomp-profile",
    description="Pods run under the RuntimeDefault (or a Localhost) seccomp profile, never Unconfined.",
    types=POD_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Set securityContext.seccompProfile.type=RuntimeDefault on the pod.",
    url="https://kubernetes.io/docs/tutorials/security/seccomp/",
    checkov=("CKV_K8S_31",), cis=(*GKE("4.6.2"), *K8S("5.6.2")))
def k8s_seccomp_profile(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if key == "seccompProfile" and isinstance(value, dict) and value.get("type") == "Unconfined":
                report(f"{path}.type is Unconfined")
        return
    pod = _pod(args)
    pod_type = at(pod, "securityContext.seccompProfile.type")
    if pod_type == "Unconfined":
        report("the pod's seccompProfile is Unconfined: every syscall is open")
    for c in _runtime(pod):
        own = at(c, "securityContext.seccompProfile.type")
        if own == "Unconfined":
            report(f"{_named(c)} runs Unconfined (seccompProfile)")
        elif (own or pod_type) not in SECURE_SECCOMP and not _patch(args) and pod_type != "Unconfined":
            report(f"{_named(c)} has no RuntimeDefault seccomp profile (pod or container)")


@resource_policy(
    "k8s-read-only-root-fs",
    description="Containers run with a read-only root filesystem (scratch space on emptyDir volumes).",
    types=POD_TYPES, severity=Severity.MEDIUM, concern="kubernetes",
    remediation="Set securityContext.readOnlyRootFilesystem=true and mount an emptyDir where the process writes "
                "(/tmp; the images set HOME and TMPDIR there).",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    checkov=("CKV_K8S_22",))
def k8s_read_only_root_fs(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if key == "readOnlyRootFilesystem" and falsy(value):
                report(f"{path} is false")
        return
    for c in _runtime(_pod(args)):
        value = at(c, "securityContext.readOnlyRootFilesystem")
        if falsy(value) or (value is None and not _patch(args)):
            report(f"{_named(c)} can write its root filesystem (readOnlyRootFilesystem is not true)")


@resource_policy(
    "k8s-non-root",
    description="Workloads run as a non-root user.",
    types=POD_TYPES, severity=Severity.HIGH, concern="kubernetes",
    remediation="Set securityContext.runAsNonRoot=true (and a non-zero runAsUser) on the pod or every container.",
    url=PSS, checkov=("CKV_K8S_23",), cis=K8S("5.2.7"))
def k8s_non_root(args, report, settings):
    if _helm(args):
        for path, key, value in _values(args):
            if (key == "runAsUser" and isinstance(value, (int, float)) and value == 0) or \
                    (key == "runAsNonRoot" and falsy(value)):
                report(f"{path} runs as root")
        return
    pod = _pod(args)
    pod_ok = at(pod, "securityContext.runAsNonRoot") is True
    pod_user = at(pod, "securityContext.runAsUser")
    for c in _runtime(pod):
        user = at(c, "securityContext.runAsUser", pod_user)
        non_root = at(c, "securityContext.runAsNonRoot", pod_ok) is True
        if user is not None and float(user) == 0:
            report(f"{_named(c)} runs as uid 0")
        elif not non_root and user is None and not _patch(args):
            report(f"{_named(c)} may run as root (no runAsNonRoot or runAsUser)")


POLICIES = [k8s_no_privileged, k8s_no_host_namespaces, k8s_no_host_path, k8s_no_privilege_escalation,
            k8s_capabilities_restricted, k8s_seccomp_profile, k8s_read_only_root_fs, k8s_non_root]
