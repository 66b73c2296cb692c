"""Kueue is installed wherever a workload names a queue, and the queue can admit that workload.

A Job created with ``suspend: true`` and a ``kueue.x-k8s.io/queue-name`` label runs only when Kueue admits it: that
needs the controller (its chart), a LocalQueue of that name in the Job's namespace, a ClusterQueue admitting that
namespace with quota for every resource the pods request (kueue's flavor assigner answers "resource ...
unavailable in ClusterQueue" otherwise: pkg/scheduler/flavorassigner/flavorassigner.go, v0.19.2), and a
ResourceFlavor matching the pods' node selector. Shapes: tests/k8s/kueue_shapes.py.
"""
from __future__ import annotations

import re

import pytest
import yaml

from blueprint.spec import SpecError
from blueprint.spec.names import KUEUE_NAMESPACE
from cli.render import manifests
from components.k8s import kueue
from tests.conftest import gcp_training_config, platform_config
from tests.k8s import kueue_shapes
from tests.k8s.conftest import spec_of, workload_plan

RELEASE = "kubernetes:helm.sh/v3:Release"
GROUP = "kubernetes:kueue.x-k8s.io/v1beta2:"
JOB = "kubernetes:batch/v1:Job"
_UNITS = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def amount(q: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMGT]i)?", str(q)).groups()
    return int(number) * _UNITS[unit or ""]


def kueue_release(plan):
    return [r for r in plan.of_type(RELEASE) if r.get("chart") == kueue.CHART.chart]


def ancestors(plan, resource) -> set[str]:
    """Every resource this one waits for at creation: its dependencies, transitively, and its parents'."""
    seen, todo = set(), [resource]
    while todo:
        r = todo.pop()
        for urn in [*r.dependencies, *([r.parent] if r.parent else [])]:
            if urn not in seen:
                seen.add(urn)
                dep = plan.by_urn(urn)
                if dep is not None:
                    todo.append(dep)
    return seen


def test_kueue_is_installed_where_the_job_names_a_queue():
    spec, plan = spec_of("prod"), workload_plan("prod")
    assert spec.workloads.training.kueue_queue == "training"
    (release,) = kueue_release(plan)
    assert (release.get("version"), release.get("namespace")) == (kueue.CHART.version, KUEUE_NAMESPACE)
    assert release.get("skipAwait") in (None, False), "Kueue objects need its webhooks serving first"
    values = release.get("values")
    assert values["controllerManager"]["nodeSelector"] == {"aiplatform.io/pool": "system"}
    config = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2" and config["kind"] == "Configuration"
    # the chart scopes its Fail-policy webhooks with these two settings (charts/kueue/templates/webhook)
    assert config["integrations"]["frameworks"] == ["batch/job"]
    assert config["managedJobsNamespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["training"]}]}
    # the Job lives in the region of the Kueue release, on the same cluster's provider
    (job,) = plan.of_type(JOB)
    assert job.provider == release.provider


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_no_kueue_where_no_workload_names_a_queue(stack):
    plan = workload_plan(stack)
    assert spec_of(stack).workloads.training.kueue_queue is None
    assert not kueue_release(plan) and not [r for r in plan if r.type.startswith(GROUP)]


def test_the_queue_admits_the_job_it_is_named_by():
    spec, plan = spec_of("prod"), workload_plan("prod")
    objects = {m.kind: m.obj for m in manifests(plan)["aws-us-east-1"] if m.obj["apiVersion"] == kueue.API_VERSION
               or m.kind == "Job"}
    job, local, cq, flavor = (objects[k] for k in ("Job", "LocalQueue", "ClusterQueue", "ResourceFlavor"))
    assert job["spec"]["suspend"] is True
    # the label names the LocalQueue in the Job's namespace, which feeds the ClusterQueue
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == local["metadata"]["name"]
    assert local["metadata"]["namespace"] == job["metadata"]["namespace"]
    assert local["spec"]["clusterQueue"] == cq["metadata"]["name"]
    (expr,) = cq["spec"]["namespaceSelector"]["matchExpressions"]
    assert expr["key"] == "kubernetes.io/metadata.name" and job["metadata"]["namespace"] in expr["values"]
    # the flavor is the pool the pods select and tolerate
    pod = job["spec"]["template"]["spec"]
    assert flavor["spec"]["nodeLabels"].items() <= pod["nodeSelector"].items() and flavor["spec"]["nodeLabels"]
    assert all(t in pod["tolerations"] for t in flavor["spec"]["tolerations"])
    (group,) = cq["spec"]["resourceGroups"]
    (offered,) = group["flavors"]
    assert offered["name"] == flavor["metadata"]["name"]
    # every resource the pods request is covered, with quota for the whole job at once
    pods = job["spec"]["parallelism"]
    requested: dict[str, int] = {}
    for c in pod["containers"]:
        for res, q in c["resources"]["requests"].items():
            requested[res] = requested.get(res, 0) + pods * amount(q)
    quota = {r["name"]: amount(r["nominalQuota"]) for r in offered["resources"]}
    assert set(requested) <= set(group["coveredResources"]), "Kueue refuses a resource the queue does not cover"
    assert "vpc.amazonaws.com/efa" in requested, "the prod training pool uses EFA"
    assert all(quota[r] >= n for r, n in requested.items()), (requested, quota)
    # and the quota is the pool at its maximum size (instance facts x max nodes)
    pool = spec.region("aws/us-east-1").pool(spec.workloads.training.pool)
    facts = pool.facts(spec.region("aws/us-east-1").cloud)
    assert quota["nvidia.com/gpu"] == pool.scaling.max * facts.gpus
    assert quota["cpu"] == pool.scaling.max * facts.vcpus
    assert quota["memory"] == pool.scaling.max * facts.memory_gib * 2**30


def test_kueue_objects_wait_for_the_chart_and_the_job_for_its_queue():
    plan = workload_plan("prod")
    (release,) = kueue_release(plan)
    objects = [r for r in plan if r.type.startswith(GROUP)]
    assert {r.type.rsplit(":", 1)[1] for r in objects} == {"ResourceFlavor", "ClusterQueue", "LocalQueue"}
    for r in objects:
        assert release.urn in ancestors(plan, r), f"{r.name} is created before the chart brings its CRD"
    (local,) = [r for r in objects if r.type.endswith(":LocalQueue")]
    (ns,) = [n for n in plan.of_type("kubernetes:core/v1:Namespace") if n.get("metadata.name") == "training"]
    assert ns.urn in local.dependencies
    (job,) = plan.of_type(JOB)
    assert local.urn in ancestors(plan, job), "the Job is submitted once its queue exists"


@pytest.mark.parametrize("stack", ["prod"])
def test_kueue_objects_have_the_pinned_crds_shapes(stack):
    found = [m for items in manifests(workload_plan(stack)).values() for m in items
             if m.obj["apiVersion"].startswith("kueue.x-k8s.io/")]
    assert len(found) == 3
    for m in found:
        assert kueue_shapes.problems(m.obj) == [], m.name


def test_the_shape_checks_catch_v1beta1_fields_and_misordered_quota():
    """Guards the test above: the checker does refuse what the v1beta2 CRDs refuse."""
    good = {"apiVersion": kueue.API_VERSION, "kind": "ClusterQueue", "metadata": {"name": "q"},
            "spec": {"resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [
                {"name": "f", "resources": [{"name": "cpu", "nominalQuota": "1"},
                                            {"name": "memory", "nominalQuota": "1Gi"}]}]}]}}
    assert kueue_shapes.problems(good) == []
    v1beta1 = {**good, "spec": {**good["spec"], "cohort": "all"}}  # v1beta2 renamed it cohortName
    assert kueue_shapes.problems(v1beta1)
    flipped = {**good, "spec": {"resourceGroups": [{"coveredResources": ["memory", "cpu"],
                                                     "flavors": good["spec"]["resourceGroups"][0]["flavors"]}]}}
    assert kueue_shapes.problems(flipped)
    assert kueue_shapes.problems({**good, "apiVersion": "kueue.x-k8s.io/v1beta1"})


def test_a_gcp_training_pool_gets_its_own_flavor_without_efa():
    plan = workload_plan("prod", gcp_training_config())
    (release,) = kueue_release(plan)
    items = {m.kind: m.obj for m in manifests(plan)["gcp-us-central1"] if m.obj["apiVersion"] == kueue.API_VERSION}
    covered = items["ClusterQueue"]["spec"]["resourceGroups"][0]["coveredResources"]
    assert covered == ["cpu", "memory", "nvidia.com/gpu"]
    assert items["ResourceFlavor"]["spec"]["nodeLabels"] == {"aiplatform.io/pool": "train-h100"}


def test_a_queue_name_must_be_a_dns_label():
    platform = platform_config("prod")
    platform["workloads"]["training"]["kueueQueue"] = "Training_Queue"
    with pytest.raises(SpecError, match=r"workloads\.training\.kueueQueue"):
        spec_of("prod", platform)
