"""EKS add-ons that must agree with the pools: the autoscaler's version and node templates, the EFA plugin, CSI."""
from __future__ import annotations

from blueprint import catalog
from blueprint.spec import Cloud, load_spec
from components.k8s.common import gpu_resources
from tests.conftest import platform_config

RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ASG_TAG = "aws:autoscaling/tag:Tag"
ADDON = "aws:eks/addon:Addon"


def _release(plan, region: str, chart: str):
    return next(r for r in plan.of_type(RELEASE) if r.name == f"aws-{region}-addons-{chart}")


def _asg_tags(plan, region: str, pool: str) -> dict[str, str]:
    tags = [r.inputs["tag"] for r in plan.of_type(ASG_TAG) if r.name.startswith(f"aws-{region}-{pool}-asg-tag-")]
    return {t["key"]: t["value"] for t in tags}


def test_each_autoscaler_release_in_the_catalog_is_one_minor_chart_and_image():
    """The chart's appVersion (kubernetes/autoscaler Chart.yaml) and the image share the cluster's minor: chart
    9.46.6 (appVersion 1.32.0) under a 1.35 image lacked the DRA RBAC and the autoscaler never started its loop
    (first-up review round 1, k8s 1)."""
    found = {v: catalog.cluster_autoscaler(v) for v in catalog.kubernetes_versions("aws")}
    assert {v for v, ca in found.items() if ca} >= {"1.34", "1.35"}
    for version, ca in found.items():
        if ca is not None:
            assert ca.chart_app_version.startswith(f"{version}.") and ca.image.startswith(f"v{version}."), version


def test_the_cluster_autoscaler_runs_the_release_matching_each_clusters_version(any_stack):
    from tests.conftest import shipped_plan
    plan, spec = shipped_plan(any_stack), load_spec(platform_config(any_stack), stack=any_stack)
    for region in (r for r in spec.regions if r.cloud is Cloud.aws):
        release = _release(plan, region.region, "cluster-autoscaler")
        ca = catalog.cluster_autoscaler(region.kubernetes_version)
        image = release.inputs["values"]["image"]
        assert image["repository"] == "registry.k8s.io/autoscaling/cluster-autoscaler"
        assert (release.inputs["version"], image["tag"]) == (ca.chart, ca.image)
        assert image["tag"].startswith(f"v{region.kubernetes_version}.")


def test_a_changed_cluster_version_changes_the_autoscaler_chart_and_image_with_it():
    from blueprint.plan import run_plan
    cfg = platform_config("dev")
    cfg["regions"][0]["kubernetesVersion"] = "1.34"
    plan = run_plan("dev", platform=cfg)
    release = _release(plan, "us-east-1", "cluster-autoscaler")
    assert (release.inputs["version"], release.inputs["values"]["image"]["tag"]) == ("9.53.0", "v1.34.5")
    assert plan.one("aws:eks/cluster:Cluster").inputs["version"] == "1.34"


def test_an_eks_minor_without_an_autoscaler_chart_is_refused():
    from blueprint.spec import SpecError
    cfg = platform_config("dev")
    cfg["regions"][0]["kubernetesVersion"] = "1.36"  # in EKS standard support; no chart built for it yet
    try:
        load_spec(cfg, stack="dev")
    except SpecError as err:
        (issue,) = err.issues
    assert issue.path == "regions[0].kubernetesVersion" and "no cluster autoscaler chart" in issue.message
    assert issue.allowed == ("1.34", "1.35")


def test_efa_pools_are_labelled_for_the_efa_plugin_and_advertise_efa_to_the_autoscaler(prod_plan):
    spec = load_spec(platform_config("prod"), stack="prod")
    for region in (r for r in spec.regions if r.cloud is Cloud.aws):
        plugin = _release(prod_plan, region.region, "aws-efa-k8s-device-plugin")
        selector = plugin.inputs["values"]["nodeSelector"]
        for pool in region.gpu_pools:
            group = prod_plan.one(NODE_GROUP, f"aws-{region.region}-{pool.name}")
            labels, tags = group.inputs["labels"], _asg_tags(prod_plan, region.region, pool.name)
            assert labels["k8s.amazonaws.com/accelerator"] == pool.accelerator, "the autoscaler's GPU label"
            efa_tag = "k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"
            if pool.uses_efa(Cloud.aws):
                assert selector.items() <= labels.items(), "the EFA plugin must land on EFA nodes"
                # what the autoscaler believes a new node offers covers what a training pod requests
                _, res = gpu_resources(pool, Cloud.aws)
                assert int(tags[efa_tag]) >= int(res["requests"]["vpc.amazonaws.com/efa"]) > 0
                assert tags[f"k8s.io/cluster-autoscaler/node-template/label/{next(iter(selector))}"] == "true"
            else:
                assert not selector.items() <= labels.items(), f"{pool.name} has no EFA"
                assert efa_tag not in tags


def test_csi_drivers_for_the_regions_static_volumes_are_installed(prod_plan, dev_plan):
    def addons(plan, region):
        return {a.inputs["addonName"] for a in plan.of_type(ADDON) if a.name.startswith(f"aws-{region}-addons-")}
    assert {"aws-mountpoint-s3-csi-driver", "aws-fsx-csi-driver", "aws-ebs-csi-driver"} <= addons(prod_plan, "us-east-1")
    west = addons(prod_plan, "us-west-2")  # buckets but no FSx there
    assert "aws-mountpoint-s3-csi-driver" in west and "aws-fsx-csi-driver" not in west
    assert "aws-fsx-csi-driver" not in addons(dev_plan, "us-east-1")


def test_every_cluster_with_a_cpu_autoscaler_serves_the_resource_metrics_api(any_stack):
    """A Resource-metric HPA reads metrics.k8s.io, which only metrics-server serves: EKS does not deploy it (GKE
    does), so dev's and staging's serving HPAs never scaled (first-up review round 1, k8s 2)."""
    from blueprint.plan.order import Graph
    from tests.conftest import shipped_plan
    plan = shipped_plan(any_stack)
    graph = Graph(plan)
    hpas = [h for h in plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
            if any(m.get("type") == "Resource" for m in h.get("spec.metrics") or [])]
    for hpa in hpas:
        cluster = graph.by_urn[graph.cluster_of(hpa)]
        if cluster.type == "aws:eks/cluster:Cluster":
            addons = [a for a in plan.of_type(ADDON) if graph.cluster_of(a) == cluster.urn
                      and a.inputs["addonName"] == "metrics-server"]
            assert addons, f"{hpa.name}: no metrics-server on {cluster.name}"
    if any_stack != "prod":
        assert hpas, "dev and staging scale serving on CPU"


def test_gpu_node_plugins_are_pinned_no_older_than_their_reviewed_release():
    """The EFA plugin was pinned at chart v0.5.6 (plugin v0.5.4, 14 releases behind); the review floor records the
    release its system-component entry describes (first-up review round 1, k8s 6)."""
    from blueprint.catalog.charts import CHARTS, REVIEWED_FLOOR
    version = lambda v: tuple(int(x) for x in v.lstrip("v").split("."))  # noqa: E731
    for chart, (floor, source) in REVIEWED_FLOOR.items():
        assert version(CHARTS[chart].version) >= version(floor), (chart, source)
    from blueprint.spec.model import REVIEWED_SYSTEM_COMPONENTS
    (efa,) = [c for c in REVIEWED_SYSTEM_COMPONENTS if c.name == "aws-efa-k8s-device-plugin"]
    assert "k8s-no-privileged" in efa.policies, "the reviewed chart runs the plugin privileged"
