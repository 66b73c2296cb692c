"""``blueprint render``: every manifest of every stack is a valid object for its cluster's Kubernetes version.

Built-in kinds are validated strictly with kubernetes-validate (unknown fields fail). CRD instances (KEDA
ScaledObject, Gateway API Gateway / GatewayClass / HTTPRoute, EnvoyProxy, Kueue, PrometheusRule, GKE HealthCheckPolicy) have no schema in that package, so they are checked structurally here:
identity fields, and references that must resolve to objects rendered for the same cluster.
"""
from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from cli.commands.render import write
from cli.render import api_version, manifests
from tests.k8s import kueue_shapes
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import schema_version


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_rendered_manifests_validate_against_the_clusters_kubernetes_version(stack):
    spec = spec_of(stack)
    rendered = manifests(workload_plan(stack))
    assert rendered, "workloads render for at least one cluster"
    for cluster, items in rendered.items():
        region = next(r for r in spec.regions if r.key.replace("/", "-") == cluster)
        version = schema_version(region.kubernetes_version)
        names = {(m.kind, m.namespace, m.name) for m in items}
        assert len(names) == len(items), f"duplicate objects in {cluster}"
        for m in items:
            assert m.obj["metadata"].get("name"), m.urn
            if not m.is_custom:
                kubernetes_validate.validate(m.obj, version, strict=True)
                continue
            assert set(m.obj) == {"apiVersion", "kind", "metadata", "spec"}
            cluster_scoped = ("GatewayClass", "ResourceFlavor", "ClusterQueue")
            assert bool(m.namespace) == (m.kind not in cluster_scoped), f"{m.kind} {m.name}: wrong scope"
            if m.kind == "ScaledObject":
                assert m.obj["apiVersion"] == "keda.sh/v1alpha1"
                assert ("Deployment", m.namespace, m.obj["spec"]["scaleTargetRef"]["name"]) in names
                assert m.obj["spec"]["minReplicaCount"] <= m.obj["spec"]["maxReplicaCount"]
            elif m.kind == "HTTPRoute":
                assert m.obj["apiVersion"] == "gateway.networking.k8s.io/v1"
                refs = [b for rule in m.obj["spec"]["rules"] for b in rule["backendRefs"]]
                assert sum(b["weight"] for b in refs) == 100
                assert all(("Service", m.namespace, b["name"]) in names for b in refs)
                for ref in m.obj["spec"]["parentRefs"]:
                    assert ("Gateway", ref["namespace"], ref["name"]) in names, f"{m.name}: no Gateway {ref}"
            elif m.kind == "Gateway":
                assert m.obj["apiVersion"] == "gateway.networking.k8s.io/v1"
                assert ("Namespace", None, m.namespace) in names
                listeners = m.obj["spec"]["listeners"]
                assert listeners and len({lst["name"] for lst in listeners}) == len(listeners)
                assert all(lst["protocol"] in ("HTTP", "HTTPS") and 0 < lst["port"] < 65536 for lst in listeners)
            elif m.kind == "GatewayClass":
                assert m.obj["apiVersion"] == "gateway.networking.k8s.io/v1" and m.obj["spec"]["controllerName"]
                params = m.obj["spec"].get("parametersRef")
                if params:
                    assert (params["kind"], params["namespace"], params["name"]) in names
            elif m.kind == "EnvoyProxy":
                assert m.obj["apiVersion"] == "gateway.envoyproxy.io/v1alpha1"
                assert m.obj["spec"]["provider"]["type"] == "Kubernetes"
            elif m.kind == "PodMonitor":
                assert m.obj["apiVersion"] == "monitoring.coreos.com/v1"
                ports = {p["port"] for p in m.obj["spec"]["podMetricsEndpoints"]}
                owners = [o for o in items if o.kind in ("Deployment", "Job") and o.namespace == m.namespace]
                if m.namespace != "monitoring":  # the DCGM exporter's pods come from its Helm chart
                    assert owners, f"{m.name} selects no workload in {cluster}"
                    for o in owners:
                        pod = o.obj["spec"]["template"]
                        assert m.obj["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
                        named = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
                        assert ports <= named, f"{m.name} scrapes a port the pods do not name"
            elif m.obj["apiVersion"].startswith("kueue.x-k8s.io/"):
                assert kueue_shapes.problems(m.obj) == [], f"{m.kind} {m.name}"
                if m.kind == "LocalQueue":
                    assert ("ClusterQueue", None, m.obj["spec"]["clusterQueue"]) in names
                elif m.kind == "ClusterQueue":
                    flavors = {f["name"] for g in m.obj["spec"]["resourceGroups"] for f in g["flavors"]}
                    assert all(("ResourceFlavor", None, f) in names for f in flavors)
            elif m.kind == "HealthCheckPolicy":
                assert m.obj["apiVersion"] == "networking.gke.io/v1" and cluster.startswith("gcp-")
                ref = m.obj["spec"]["targetRef"]
                assert (ref["group"], ref["kind"]) == ("", "Service") and ("Service", m.namespace, ref["name"]) in names
                check = m.obj["spec"]["default"]["config"]
                assert check["type"] == "HTTP" and check["httpHealthCheck"]["requestPath"].startswith("/")
            elif m.kind == "PrometheusRule":
                assert m.obj["apiVersion"] == "monitoring.coreos.com/v1"
                rules = [r for g in m.obj["spec"]["groups"] for r in g["rules"]]
                assert rules and all(r["alert"] and r["expr"] and r["for"] for r in rules)
            else:
                pytest.fail(f"no structural check for custom kind {m.kind}")


def test_schema_version_maps_to_the_nearest_shipped_schema():
    assert schema_version("1.35") == "1.35"
    shipped = kubernetes_validate.utils.latest_version()
    newest = ".".join(shipped.split(".")[:2])
    assert schema_version("1.99") == newest


def test_strict_validation_rejects_an_unknown_field():
    """Guards the test above: the validator really is strict about fields."""
    obj = next(m.obj for m in manifests(workload_plan("dev"))["aws-us-east-1"] if m.kind == "Deployment")
    bad = {**obj, "spec": {**obj["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.35", strict=True)


def test_api_version_from_type_token():
    assert api_version("kubernetes:core/v1:Service") == ("v1", "Service")
    assert api_version("kubernetes:apps/v1:Deployment") == ("apps/v1", "Deployment")
    assert api_version("kubernetes:rbac/v1:Role") == ("rbac.authorization.k8s.io/v1", "Role")
    assert api_version("kubernetes:keda.sh/v1alpha1:ScaledObject") == ("keda.sh/v1alpha1", "ScaledObject")


def test_render_writes_one_folder_per_cluster_and_yaml_reads_back(tmp_path):
    written = write(workload_plan("prod"), tmp_path)
    assert {p.parent.name for p in written} == {"aws-us-east-1", "aws-us-west-2", "gcp-us-central1"}
    job = yaml.safe_load((tmp_path / "aws-us-east-1" / "job-training-charlm.yaml").read_text())
    assert job["kind"] == "Job" and job["spec"]["completions"] == 2 and isinstance(job["spec"]["completions"], int)
    assert not (tmp_path / "aws-us-west-2" / "job-training-charlm.yaml").exists()
