"""Every region validation lets a GPU pool into is priced, or validation refuses the pool and lists the regions that
price its instance type (issue 19: the gate could be bypassed by region)."""
from __future__ import annotations

import pytest

from blueprint import catalog
from blueprint.cost import estimate, load_prices
from blueprint.plan.engine import run_program
from blueprint.spec import SpecError, load_spec
from blueprint.spec.model import GpuPool, Region, Scaling, SystemPool
from blueprint.spec.validate import price_issues
from tests.conftest import platform_config
from tests.cost.helpers import usage

NAMED = {"aws": ["eu-west-1", "eu-central-1", "us-east-2", "ap-northeast-1"],
         "gcp": ["us-east4", "us-west1", "europe-west4", "asia-northeast1"]}
CAPACITY_BLOCKS_ONLY = {"p5e.48xlarge"}  # sold as Capacity Blocks only: no on-demand price anywhere


@pytest.mark.parametrize("cloud,region", [(c, r) for c, regions in NAMED.items() for r in regions])
def test_the_regions_the_issue_names_are_priced_for_every_gpu_type_offered_there(cloud, region):
    prices, offered = load_prices(), catalog.region(cloud, region).gpus
    service = "ec2-on-demand" if cloud == "aws" else "compute-on-demand"
    types = [t for t in catalog.instance_types(cloud) if catalog.instance(cloud, t).accelerator in offered]
    missing = [t for t in types if prices.get(cloud, service, region, t) is None and t not in CAPACITY_BLOCKS_ONLY]
    if (cloud, region) == ("gcp", "us-west1"):
        assert missing == ["a3-megagpu-8g"]  # the billing catalog lists A3 Mega in other regions only
    else:
        assert missing == []
    system = catalog.system_instance_types(cloud)
    assert all(prices.get(cloud, service, region, t) is not None for t in system)


def _combos():
    for cloud in catalog.CLOUDS:
        for region in catalog.region_names(cloud):
            for t in catalog.instance_types(cloud):
                if catalog.instance(cloud, t).accelerator in catalog.region(cloud, region).gpus:
                    yield cloud, region, t


def _program(combos):
    def program():
        import pulumi
        import pulumi_aws as aws
        import pulumi_gcp.container as container
        providers = {}
        for cloud, region, t in combos:
            if (cloud, region) not in providers:
                providers[(cloud, region)] = (aws.Provider(f"aws-{region}", region=region) if cloud == "aws" else
                                              __import__("pulumi_gcp").Provider(f"gcp-{region}", region=region,
                                                                                project="p-test-123"))
            opts = pulumi.ResourceOptions(provider=providers[(cloud, region)])
            name = f"{cloud}-{region}-{t}".replace(".", "-")
            if cloud == "aws":
                aws.eks.NodeGroup(name, cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/n",
                                  subnet_ids=["s"], instance_types=[t],
                                  scaling_config={"min_size": 1, "desired_size": 1, "max_size": 1}, opts=opts)
            else:
                container.NodePool(name, cluster="c", location=region, node_locations=[f"{region}-a"], node_count=1,
                                   node_config={"machine_type": t, "disk_type": "pd-balanced"}, opts=opts)
    return program


def _validation_accepts(cloud: str, region: str, instance_type: str) -> bool:
    facts = catalog.instance(cloud, instance_type)
    system = catalog.system_instance_types(cloud)[0]
    pool = GpuPool(name="p", accelerator=facts.accelerator, instance_type=instance_type, capacity_type="on-demand",
                   purpose="serving", scaling=Scaling(min=1, desired=1, max=1))
    spec = load_spec(platform_config("prod"), stack="prod").model_copy(update={"regions": [Region(
        cloud=cloud, region=region, system_pool=SystemPool(instance_type=system), gpu_pools=[pool])]})
    return not [i for i in price_issues(spec) if ".gpuPools[" in i.path]


def test_validation_and_the_estimator_agree_on_every_catalog_region_and_gpu_type():
    """An always-on on-demand pool of every GPU type in every region that offers its GPU: validation accepts it
    exactly where the estimator prices it. Nothing validation lets in can reach the budget gate unpriced."""
    combos = list(_combos())
    est = estimate(run_program(_program(combos)), usage())
    priced = {i.name for i in est.items}
    unpriced = {u.name for u in est.unpriced}
    disagreements = []
    for cloud, region, t in combos:
        name = f"{cloud}-{region}-{t}".replace(".", "-")
        assert (name in priced) != (name in unpriced), name
        if _validation_accepts(cloud, region, t) != (name in priced):
            disagreements.append(name)
    assert disagreements == []
    assert len(priced) > 150 and unpriced  # most combinations are priced; the rest are refused


def _prod_with(**pool_update):
    cfg = platform_config("prod")
    gcp = next(r for r in cfg["regions"] if r["cloud"] == "gcp")
    gcp["gpuPools"][0].update(pool_update)
    return cfg


def test_validation_refuses_an_unpriced_gpu_pool_with_the_regions_that_price_it():
    with pytest.raises(SpecError) as info:
        load_spec(_prod_with(instanceType="a3-megagpu-8g"), stack="prod")
    text = str(info.value)
    assert ("regions[2].gpuPools[0].instanceType: a3-megagpu-8g has no on-demand price in gcp/us-central1 in the "
            "price catalog") in text
    assert "allowed values: gcp/us-east4, gcp/us-east5, gcp/us-west4, gcp/europe-west4" in text


def test_validation_refuses_an_aws_region_whose_gpu_type_is_not_priced():
    cfg = platform_config("dev")
    cfg["regions"][0]["region"] = "us-west-1"  # the catalog offers A10G there; no g5 price was read for it
    cfg["regions"][0]["gpuPools"] = [cfg["regions"][0]["gpuPools"][0]]
    cfg["workloads"] = {}
    with pytest.raises(SpecError) as info:
        load_spec(cfg, stack="dev")
    assert "g5.12xlarge has no on-demand price in aws/us-west-1" in str(info.value)
    assert "allowed values: aws/us-east-1, aws/us-east-2, aws/us-west-2, aws/ca-central-1, aws/eu-west-1" in \
        str(info.value)


def test_validation_refuses_a_lustre_throughput_without_a_price():
    cfg = platform_config("staging")
    cfg["regions"][0]["storage"]["hot"]["throughputPerTib"] = 500
    with pytest.raises(SpecError) as info:
        load_spec(cfg, stack="staging")
    assert ("regions[0].storage.hot.throughputPerTib: FSx for Lustre PERSISTENT_2 at 500 MB/s/TiB has no price in "
            "aws/us-east-1 in the price catalog; priced throughputs there; allowed values: 125, 250") in \
        str(info.value)


def test_capacity_block_pools_validate_only_where_the_page_listed_a_rate():
    cfg = platform_config("prod")
    pool = cfg["regions"][0]["gpuPools"][0]  # p5.48xlarge reserved in us-east-1
    pool["reservationType"] = "capacity-block"
    del pool["placementGroup"]  # an ODCR's cluster placement group; a Capacity Block names none
    assert load_spec(cfg, stack="prod")  # us-east-1 p5 has a Capacity Block rate
    pool.update(instanceType="p5en.48xlarge", accelerator="h200")
    with pytest.raises(SpecError, match=r"p5en.48xlarge has no Capacity Block price in aws/us-east-1"):
        load_spec(cfg, stack="prod")
