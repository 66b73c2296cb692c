"""Checks that need the catalog or several fields at once. Each returns issues; none raises.
Notes: docs/architecture.md, "Spec and catalog"."""
from __future__ import annotations


from blueprint import catalog
from blueprint.catalog import gcs
from blueprint.catalog.prices import load_prices
from blueprint.spec.access import ROLE_ARN, access_issues
from blueprint.spec.addressing import AddressError, address_requests, plan_addresses
from blueprint.spec.dns import dns_issues
from blueprint.spec.exemptions import policy_issues
from blueprint.spec.issues import SpecIssue
from blueprint.spec.model import CapacityType, Cloud, GpuPool, PlatformSpec, Purpose, Region, Scaling, Topology


def scaling_issues(at: str, s: Scaling) -> list[SpecIssue]:
    """The one counts check for GPU pools, system pools and serving replicas."""
    if s.min <= s.desired <= s.max:
        return []
    return [SpecIssue(at, f"need min <= desired <= max, got min={s.min} desired={s.desired} max={s.max}")]


def _pool_issues(spec: PlatformSpec, ri: int) -> list[SpecIssue]:
    region = spec.regions[ri]
    cloud = region.cloud.value
    out: list[SpecIssue] = []
    seen: set[str] = set()
    for pi, pool in enumerate(region.gpu_pools):
        at = f"regions[{ri}].gpuPools[{pi}]"
        if pool.name in seen:
            out.append(SpecIssue(f"{at}.name", f"pool name '{pool.name}' is used twice in {region.key}"))
        seen.add(pool.name)
        out += scaling_issues(f"{at}.scaling", pool.scaling)
        out += _reservation_issues(region, pool, at)
        out += _pool_storage_issues(spec, region, pool, at)
        if pool.accelerator not in catalog.accelerators():
            out.append(SpecIssue(f"{at}.accelerator", f"unknown accelerator '{pool.accelerator}'",
                                 tuple(catalog.accelerators())))
            continue
        facts = catalog.instance(cloud, pool.instance_type)
        if facts is None:
            out.append(SpecIssue(f"{at}.instanceType", f"unknown {cloud} GPU instance type '{pool.instance_type}'",
                                 tuple(catalog.instance_types(cloud))))
            continue
        if facts.accelerator != pool.accelerator:
            matching = [t for t in catalog.instance_types(cloud)
                        if catalog.instance(cloud, t).accelerator == pool.accelerator]  # type: ignore[union-attr]
            out.append(SpecIssue(f"{at}.instanceType",
                                 f"{pool.instance_type} carries {facts.accelerator}, not {pool.accelerator}",
                                 tuple(matching)))
        rf = catalog.region(cloud, region.region)
        if rf is not None and pool.accelerator not in rf.gpus:
            offering = [r for r in catalog.region_names(cloud) if pool.accelerator in catalog.region(cloud, r).gpus]  # type: ignore[union-attr]
            out.append(SpecIssue(f"{at}.accelerator",
                                 f"{region.key} does not offer {pool.accelerator} (catalog as of {catalog.as_of()})",
                                 tuple(offering)))
        if pool.efa:
            if region.cloud is not Cloud.aws:
                out.append(SpecIssue(f"{at}.efa", "EFA exists on AWS only; use compactPlacement on GCP"))
            elif not facts.efa:
                efa_types = [t for t in catalog.instance_types(cloud) if catalog.instance(cloud, t).efa]  # type: ignore[union-attr]
                out.append(SpecIssue(f"{at}.efa", f"{pool.instance_type} has no EFA support", tuple(efa_types)))
        if pool.compact_placement and region.cloud is Cloud.gcp and not facts.compact_placement:
            ok = [t for t in catalog.instance_types(cloud) if catalog.instance(cloud, t).compact_placement]  # type: ignore[union-attr]
            out.append(SpecIssue(f"{at}.compactPlacement", f"{pool.instance_type} does not support compact "
                                                           "placement", tuple(ok)))
        out += _placement_group_issues(region, pool, at)
        if pool.zones and len(pool.zones) > 1 and pool.uses_compact_placement(region.cloud):
            out.append(SpecIssue(f"{at}.zones", "EFA and cluster placement need a single zone; give one zone, or "
                                                "set efa: false and compactPlacement: false", tuple(pool.zones)))
        elif _zone_bound(region, pool) and len(pool.zones or ()) != 1:
            out.append(SpecIssue(f"{at}.zones", f"a reserved pool ({pool.reservation_type}) is bound to the one "
                                                "Availability Zone of its reservation; give exactly that zone",
                                 spec.zones(region)))
        if pool.zones and rf is not None:
            out += _zone_issues(spec, region, pool.zones, at)
    return out


def _zone_bound(region: Region, pool: GpuPool) -> bool:
    """ODCRs and Capacity Blocks live in one Availability Zone; a node group spread wider launches outside them."""
    return region.cloud is Cloud.aws and pool.capacity_type is CapacityType.reserved


def _zone_issues(spec: PlatformSpec, region: Region, zones: list[str], at: str) -> list[SpecIssue]:
    """Pool zones must be zones the region's network builds (its first zoneCount), or there is no subnet there."""
    built, out = spec.zones(region), []
    for zi, zone in enumerate(zones):
        if zone not in region.facts.zones:
            out.append(SpecIssue(f"{at}.zones[{zi}]", f"'{zone}' is not a zone of {region.key}", built))
        elif zone not in built:
            out.append(SpecIssue(f"{at}.zones[{zi}]", f"'{zone}' is a zone of {region.key}, but the network builds "
                                                      f"only its first {len(built)} (zoneCount); pick one of those "
                                                      "or raise zoneCount", built))
    return out


def _reservation_issues(region: Region, pool: GpuPool, at: str) -> list[SpecIssue]:
    """Reservation fields take effect only on reserved pools, and reservation types only on AWS: never ignore one."""
    out: list[SpecIssue] = []
    reserved = pool.capacity_type is CapacityType.reserved
    if pool.reservation_id and not reserved:
        out.append(SpecIssue(f"{at}.reservationId", f"a reservation id needs capacityType 'reserved', "
                                                    f"not '{pool.capacity_type.value}'", ("reserved",)))
    if reserved and not pool.reservation_id:
        out.append(SpecIssue(f"{at}.reservationId", "capacityType 'reserved' needs the reservation id "
                                                    "(ODCR 'cr-…', capacity block, or GCP reservation name)"))
    if "reservation_type" in pool.model_fields_set:
        if region.cloud is not Cloud.aws:
            out.append(SpecIssue(f"{at}.reservationType", f"reservationType '{pool.reservation_type}' exists on AWS "
                                                          "only; a GCP pool consumes the specific reservation named "
                                                          "by reservationId; remove the key"))
        elif not reserved:
            out.append(SpecIssue(f"{at}.reservationType", f"reservationType '{pool.reservation_type}' needs "
                                                          f"capacityType 'reserved', not "
                                                          f"'{pool.capacity_type.value}'", ("reserved",)))
    return out


def _placement_group_issues(region: Region, pool: GpuPool, at: str) -> list[SpecIssue]:
    """An ODCR serves a cluster placement group only if it was created in it ("we recommend that you reserve capacity
    explicitly in the cluster placement group", EC2 User Guide, placement group limitations): such a pool names
    that existing group; no other pool takes the key."""
    odcr = (region.cloud is Cloud.aws and pool.capacity_type is CapacityType.reserved
            and pool.reservation_type == "odcr")
    clustered = pool.uses_compact_placement(region.cloud)
    if pool.placement_group is None:
        if odcr and clustered:
            return [SpecIssue(f"{at}.placementGroup", "a reserved (odcr) pool in a cluster placement group needs the "
                                                      "existing group its On-Demand Capacity Reservation was created "
                                                      "in; create the reservation in a cluster placement group and "
                                                      "name it here, or set efa: false and compactPlacement: false")]
        return []
    if not (odcr and clustered):
        return [SpecIssue(f"{at}.placementGroup", "placementGroup names the cluster placement group of an On-Demand "
                                                  "Capacity Reservation: AWS reserved (odcr) pools with EFA or "
                                                  "compactPlacement only; remove the key")]
    return []


def _pool_storage_issues(spec: PlatformSpec, region: Region, pool: GpuPool, at: str) -> list[SpecIssue]:
    """A training pool's data lives in its own region, or the spec says explicitly which region holds it."""
    with_storage = tuple(r.key for r in spec.regions if r.storage is not None)
    if pool.storage_region is not None:
        other = spec.region(pool.storage_region)
        if pool.purpose is not Purpose.training:
            return [SpecIssue(f"{at}.storageRegion", "storageRegion is for training pools; a serving pool reads its "
                                                     "region's model bucket")]
        if other is None or other.storage is None:
            return [SpecIssue(f"{at}.storageRegion", f"'{pool.storage_region}' is not a configured region with "
                                                     "storage", with_storage)]
        return []
    train = spec.workloads.training
    runs_here = train is not None and train.region == region.key and train.pool == pool.name
    if pool.purpose is Purpose.training and region.storage is None and not (runs_here and train.storage_region):
        return [SpecIssue(at, f"training pool '{pool.name}' is in {region.key}, which has no storage, so its data "
                              "would live in another region; add storage there or set the pool's storageRegion "
                              "to one of these regions to accept cross-region reads explicitly", with_storage)]
    return []


def _region_issues(spec: PlatformSpec) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    seen: set[str] = set()
    for ri, region in enumerate(spec.regions):
        cloud = region.cloud.value
        if region.key in seen:
            out.append(SpecIssue(f"regions[{ri}]", f"region {region.key} is listed twice"))
        seen.add(region.key)
        rf = catalog.region(cloud, region.region)
        if rf is None:
            out.append(SpecIssue(f"regions[{ri}].region", f"'{region.region}' is not {_article(cloud)} {cloud} region",
                                 tuple(catalog.region_names(cloud))))
            continue
        if spec.zone_count(region) > len(rf.zones):
            out.append(SpecIssue(f"regions[{ri}].zoneCount", f"{region.key} has {len(rf.zones)} zones in the "
                                                             f"catalog", tuple(str(n) for n in range(2, len(rf.zones) + 1))))
        if region.kubernetes_version not in catalog.kubernetes_versions(cloud):
            out.append(SpecIssue(f"regions[{ri}].kubernetesVersion",
                                 f"'{region.kubernetes_version}' is not in standard support on {cloud}",
                                 tuple(catalog.kubernetes_versions(cloud))))
        elif region.cloud is Cloud.aws and catalog.cluster_autoscaler(region.kubernetes_version) is None:
            out.append(SpecIssue(f"regions[{ri}].kubernetesVersion",
                                 f"no cluster autoscaler chart is built for EKS {region.kubernetes_version} yet (an "
                                 "older minor's chart lacks the RBAC the newer autoscaler needs)",
                                 tuple(v for v in catalog.kubernetes_versions(cloud)
                                       if catalog.cluster_autoscaler(v) is not None)))
        if region.system_pool.instance_type not in catalog.system_instance_types(cloud):
            out.append(SpecIssue(f"regions[{ri}].systemPool.instanceType",
                                 f"unknown system instance type '{region.system_pool.instance_type}'",
                                 tuple(catalog.system_instance_types(cloud))))
        out += scaling_issues(f"regions[{ri}].systemPool.scaling", region.system_pool.scaling)
        hot = region.storage.hot if region.storage else None
        hot_kinds = {"aws": ("fsx-lustre",), "gcp": ("filestore",)}[cloud]
        if hot is not None and hot.kind not in hot_kinds:
            out.append(SpecIssue(f"regions[{ri}].storage.hot.kind",
                                 f"'{hot.kind}' is not {_article(cloud)} {cloud} file system",
                                 hot_kinds))
        if (cloud == "gcp" and region.storage is not None and spec.is_production
                and gcs.dual_region_partner(region.region) is None):
            out.append(SpecIssue(f"regions[{ri}].region",
                                 f"production model buckets are dual-region, and {region.region} is in no GCS "
                                 "multi-region a dual-region can be configured in", gcs.dual_region_capable()))
        if hot is not None and hot.kind == "fsx-lustre" and hot.capacity_gib != 1200 and hot.capacity_gib % 2400:
            # FSx for Lustre PERSISTENT_2 on SSD: 1.2 TiB, or a multiple of 2.4 TiB
            out.append(SpecIssue(f"regions[{ri}].storage.hot.capacityGib",
                                 f"FSx for Lustre PERSISTENT_2 has no {hot.capacity_gib} GiB size",
                                 ("1200", "2400", "4800", "7200", "9600", "...multiples of 2400")))
        if hot is not None and hot.kind == "filestore" and hot.filestore_tier == "ZONAL" \
                and not zonal_filestore_size(hot.capacity_gib):
            out.append(SpecIssue(f"regions[{ri}].storage.hot.capacityGib",
                                 f"Filestore Zonal has no {hot.capacity_gib} GiB size",
                                 ("1024-9984 in steps of 256", "10240-102400 in steps of 2560")))
        out += _pool_issues(spec, ri)
    return out


def zonal_filestore_size(gib: int) -> bool:
    """Filestore Zonal: 1 TiB to 9.75 TiB in 256 GiB steps, or 10 TiB to 100 TiB in 2.5 TiB steps; the two ranges
    are fixed at creation (cloud.google.com/filestore/docs/service-tiers-zonal)."""
    return (1024 <= gib <= 9984 and gib % 256 == 0) or (10240 <= gib <= 102400 and gib % 2560 == 0)


def _article(word: str) -> str:
    """'an aws region', 'a gcp region': the article of the word as it is read aloud (AWS starts with a vowel)."""
    return "an" if word[:1].lower() in "aeio" else "a"


def _network_issues(spec: PlatformSpec) -> list[SpecIssue]:
    net = spec.network
    keys = tuple(r.key for r in spec.regions)
    out: list[SpecIssue] = []
    if net.topology is Topology.hub_and_spoke and net.hub not in keys:
        out.append(SpecIssue("network.hub", "hub-and-spoke needs the hub region key", keys))
    if net.hub is not None and net.topology is Topology.full_mesh:
        out.append(SpecIssue("network.hub", "a hub is only used with topology hub-and-spoke",
                             ("hub-and-spoke",)))
    if net.aws_asn == net.gcp_asn:
        out.append(SpecIssue("network.gcpAsn", "the AWS and GCP BGP ASNs must differ"))
    out += _dedicated_issues(spec)
    if any(catalog.region(r.cloud.value, r.region) is None for r in spec.regions):
        return out  # addresses need valid regions; the region issue is reported already
    try:
        plan_addresses(net.supernet, net.region_prefix_length, address_requests(spec))
    except AddressError as exc:
        out.append(SpecIssue(exc.path, str(exc)))
    return out


def _dedicated_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """Dedicated links need the cloud they land in, and a BGP peer ASN for Cloud Interconnect."""
    links, clouds, out = spec.network.dedicated, set(spec.clouds()), []
    if links is None:
        return out
    if links.direct_connect_gateway_id and Cloud.aws not in clouds:
        out.append(SpecIssue("network.dedicated.directConnectGatewayId", "Direct Connect needs an AWS region"))
    if links.interconnect_attachment_urls:
        if Cloud.gcp not in clouds:
            out.append(SpecIssue("network.dedicated.interconnectAttachmentUrls", "Cloud Interconnect needs a GCP region"))
        if links.peer_asn is None:
            out.append(SpecIssue("network.dedicated.peerAsn", "Cloud Interconnect attachments need the BGP ASN of "
                                                              "the router on the far side"))
        elif links.peer_asn in (spec.network.gcp_asn, spec.network.aws_asn):
            out.append(SpecIssue("network.dedicated.peerAsn", f"{links.peer_asn} is already the AWS or GCP ASN; "
                                                              "the far-side router needs its own"))
        gcp = tuple(r.region for r in spec.regions if r.cloud is Cloud.gcp)
        if links.interconnect_region is not None and links.interconnect_region not in gcp:
            out.append(SpecIssue("network.dedicated.interconnectRegion",
                                 f"'{links.interconnect_region}' is not a GCP region of this stack; VLAN "
                                 "attachments land in one, served by the connections' metro", gcp))
    return out


def _workload_issues(spec: PlatformSpec) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    keys = tuple(r.key for r in spec.regions)
    train = spec.workloads.training
    if train is not None:
        region = spec.region(train.region)
        if region is None:
            out.append(SpecIssue("workloads.training.region", f"'{train.region}' is not a configured region", keys))
        else:
            pool = region.pool(train.pool)
            names = tuple(p.name for p in region.gpu_pools if p.purpose is Purpose.training)
            if pool is None:
                out.append(SpecIssue("workloads.training.pool", f"no GPU pool '{train.pool}' in {region.key}", names))
            else:
                out += _accelerator_issue("workloads.training", train.accelerator, pool, region)
                if pool.purpose is not Purpose.training:
                    out.append(SpecIssue("workloads.training.pool", f"pool '{pool.name}' serves, it does not train",
                                         names))
                if train.nodes > pool.scaling.max:
                    out.append(SpecIssue("workloads.training.nodes", f"{train.nodes} nodes but pool '{pool.name}' "
                                                                     f"scales to at most {pool.scaling.max}"))
                # where the workload's data lives (its storageRegion, else its region) must be where the pool says
                data_at = train.storage_region or (train.region if region.storage is not None else None)
                if pool.storage_region is not None and data_at not in (None, pool.storage_region):
                    out.append(SpecIssue("workloads.training.storageRegion",
                                         f"pool '{pool.name}' keeps its data in {pool.storage_region}; the workload "
                                         "must read and write there too", (pool.storage_region,)))
                facts = catalog.instance(region.cloud.value, pool.instance_type)
                if facts and train.gpus_per_node and train.gpus_per_node > facts.gpus:
                    out.append(SpecIssue("workloads.training.gpusPerNode",
                                         f"{pool.instance_type} has {facts.gpus} GPUs",
                                         tuple(str(n) for n in range(1, facts.gpus + 1))))
            if train.storage_region is not None:
                other = spec.region(train.storage_region)
                if other is None or other.storage is None:
                    with_storage = tuple(r.key for r in spec.regions if r.storage is not None)
                    out.append(SpecIssue("workloads.training.storageRegion",
                                         f"'{train.storage_region}' is not a configured region with storage",
                                         with_storage))
            elif region.storage is None and (pool is None or pool.storage_region is None):
                out.append(SpecIssue("workloads.training.region",
                                     f"training runs in {region.key}, which has no storage; its data would live in "
                                     "another region. Add storage there or set workloads.training.storageRegion "
                                     "(or the pool's storageRegion) to accept cross-region reads explicitly"))
    serve = spec.workloads.serving
    if serve is not None:
        for i, key in enumerate(serve.regions):
            region = spec.region(key)
            if region is None:
                out.append(SpecIssue(f"workloads.serving.regions[{i}]", f"'{key}' is not a configured region", keys))
            elif region.pool(serve.pool) is None:
                out.append(SpecIssue("workloads.serving.pool", f"no GPU pool '{serve.pool}' in {key}",
                                     tuple(p.name for p in region.gpu_pools)))
            else:
                out += _accelerator_issue("workloads.serving", serve.accelerator, region.pool(serve.pool), region)
        out += scaling_issues("workloads.serving.replicas", serve.replicas)
        if serve.keda and serve.replicas.min == 0:
            out.append(SpecIssue("workloads.serving.replicas.min", "KEDA scales on the queue depth the serving pods "
                                                                   "export; at 0 replicas nothing exports it and the "
                                                                   "service never scales up; set min to 1 or more, "
                                                                   "or keda: false"))
        if serve.canary_weight and not serve.canary_image:
            out.append(SpecIssue("workloads.serving.canaryWeight", "a canary weight needs canaryImage"))
        out += _routing_issues(spec)
        out += dns_issues(spec)
        out += _model_delivery_issues(spec)
    for at, image in _workload_images(spec):
        if "@sha256:" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")):
            out.append(SpecIssue(at, f"'{image}' is not immutable; pin a digest (@sha256:...) or a version tag"))
    return out


def _model_delivery_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """Serving loads the model from its own region's models bucket (unless modelUri says where): that bucket must
    exist, and training's export must reach it. Replication runs from an AWS training region only (S3 replication
    to AWS regions, Storage Transfer to GCS; components/platform.py), in every tier."""
    train, serve = spec.workloads.training, spec.workloads.serving
    if serve is None or serve.model_uri is not None:
        return []
    out: list[SpecIssue] = []
    source = spec.region(spec.training_data_region() or "")
    for i, key in enumerate(serve.regions):
        region = spec.region(key)
        if region is None:
            continue  # reported as an unknown region already
        if region.storage is None:
            out.append(SpecIssue(f"regions[{spec.regions.index(region)}].storage",
                                 f"serving in {key} loads its model from that region's models bucket, and the region "
                                 "has no storage; give it storage or set workloads.serving.modelUri"))
        elif train is not None and source is not None and key != source.key and source.cloud is not Cloud.aws:
            out.append(SpecIssue(f"workloads.serving.regions[{i}]",
                                 f"training exports its model to {source.key}, and nothing copies models from a "
                                 f"{source.cloud.value} region to {key} (replication runs from AWS training regions); "
                                 "serve where training stores its data, or set workloads.serving.modelUri",
                                 (source.key,)))
    return out


def _workload_images(spec: PlatformSpec) -> list[tuple[str, str]]:
    t, s = spec.workloads.training, spec.workloads.serving
    out = [("workloads.training.image", t.image)] if t else []
    if s is not None:
        out += [("workloads.serving.image", s.image)]
        out += [("workloads.serving.canaryImage", s.canary_image)] if s.canary_image else []
    return out


def _routing_issues(spec: PlatformSpec) -> list[SpecIssue]:
    """Global routing needs a domain (Route 53 / TLS) and a serving region on the cloud that provides it."""
    serve = spec.workloads.serving
    assert serve is not None
    mode = serve.global_routing
    if mode == "none":
        return []
    out: list[SpecIssue] = []
    if mode in ("route53-latency", "gcp-global-lb") and not serve.domain:
        out.append(SpecIssue("workloads.serving.domain", f"globalRouting '{mode}' needs the service's domain"))
    clouds = {spec.region(k).cloud for k in serve.regions if spec.region(k) is not None}
    needs = Cloud.gcp if mode == "gcp-global-lb" else Cloud.aws
    if needs not in clouds:
        out.append(SpecIssue("workloads.serving.globalRouting", f"'{mode}' needs a {needs.value} serving region",
                             ("none", "route53-latency", "global-accelerator", "gcp-global-lb")))
    return out


def _accelerator_issue(at: str, wanted: str | None, pool: GpuPool, region: Region) -> list[SpecIssue]:
    """One error per mistake: an unknown accelerator (the workload's or the pool's) is reported once, as unknown."""
    known = catalog.accelerators()
    if wanted is None or wanted == pool.accelerator or pool.accelerator not in known:
        return []  # an unknown pool accelerator is reported at the pool already
    if wanted not in known:
        return [SpecIssue(f"{at}.accelerator", f"unknown accelerator '{wanted}'", tuple(known))]
    providing = tuple(p.name for p in region.gpu_pools if p.accelerator == wanted)
    where = (f"pools in {region.key} with {wanted}" if providing else
             f"no pool in {region.key} provides {wanted}; add one, or ask for one of")
    allowed = providing or tuple(sorted({p.accelerator for p in region.gpu_pools if p.accelerator in known}))
    return [SpecIssue(f"{at}.accelerator", f"the workload asks for {wanted} but pool '{pool.name}' has "
                                           f"{pool.accelerator} ({where})", allowed)]


def _project_issues(spec: PlatformSpec) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    if spec.gcp_project is None and any(r.cloud is Cloud.gcp for r in spec.regions):
        out.append(SpecIssue("gcpProject", "a stack with a GCP region needs the GCP project id"))
    for i, arn in enumerate(spec.cluster_admin_role_arns):  # EKS access entries take IAM role ARNs only
        if not ROLE_ARN.match(arn):
            out.append(SpecIssue(f"clusterAdminRoleArns[{i}]", f"'{arn}' is not an IAM role ARN "
                                                               "(arn:aws:iam::<12-digit account>:role/<name>)"))
    return out


def _compute_service(cloud: Cloud, pool: GpuPool) -> tuple[str, str]:
    """(price catalog service, what it prices) a GPU pool needs. Spot pools need the on-demand price (their max,
    and their expected until a spot price is read); reserved pools bill at on-demand, Capacity Blocks at their own."""
    if cloud is Cloud.aws:
        if pool.capacity_type is CapacityType.reserved and pool.reservation_type == "capacity-block":
            return "ec2-capacity-block", "Capacity Block"
        return "ec2-on-demand", "on-demand"
    return "compute-on-demand", "on-demand"


def _priced_in(prices, cloud: str, service: str, sku: str) -> tuple[str, ...]:
    return tuple(f"{cloud}/{r}" for r in prices.regions_with(cloud, service, sku))


def price_issues(spec: PlatformSpec, prices=None) -> list[SpecIssue]:
    """Every GPU pool, system pool and hot tier validation lets in is priced in its region, so the budget gate can
    judge it; otherwise the issue lists the regions where the catalog prices that instance type (or tier)."""
    prices = prices or load_prices()
    out: list[SpecIssue] = []
    for ri, region in enumerate(spec.regions):
        cloud = region.cloud.value
        rf = catalog.region(cloud, region.region)
        if rf is None:
            continue  # an unknown region is reported by _region_issues
        for pi, pool in enumerate(region.gpu_pools):
            facts = catalog.instance(cloud, pool.instance_type)
            if facts is None or facts.accelerator != pool.accelerator or pool.accelerator not in rf.gpus:
                continue  # reported by _pool_issues
            service, what = _compute_service(region.cloud, pool)
            if prices.get(cloud, service, region.region, pool.instance_type) is None:
                out.append(SpecIssue(f"regions[{ri}].gpuPools[{pi}].instanceType",
                                     f"{pool.instance_type} has no {what} price in {region.key} in the price catalog "
                                     f"(as of {prices.as_of}); GPU pools go only where their cost is known: these "
                                     "regions price it", _priced_in(prices, cloud, service, pool.instance_type)))
        system = region.system_pool.instance_type
        service = "ec2-on-demand" if region.cloud is Cloud.aws else "compute-on-demand"
        if system in catalog.system_instance_types(cloud) and prices.get(cloud, service, region.region, system) is None:
            out.append(SpecIssue(f"regions[{ri}].systemPool.instanceType",
                                 f"{system} has no on-demand price in {region.key} in the price catalog (as of "
                                 f"{prices.as_of}); these regions price it",
                                 _priced_in(prices, cloud, service, system)))
        hot = region.storage.hot if region.storage else None
        if hot is not None and hot.kind == "fsx-lustre" and cloud == "aws":
            sku = f"PERSISTENT_2-{hot.throughput_per_tib}"
            if prices.get("aws", "fsx-lustre", region.region, sku) is None:
                tiers = tuple(k.split("-", 1)[1] for k in ("PERSISTENT_2-125", "PERSISTENT_2-250", "PERSISTENT_2-500",
                                                            "PERSISTENT_2-1000")
                              if prices.get("aws", "fsx-lustre", region.region, k) is not None)
                out.append(SpecIssue(f"regions[{ri}].storage.hot.throughputPerTib",
                                     f"FSx for Lustre PERSISTENT_2 at {hot.throughput_per_tib} MB/s/TiB has no price "
                                     f"in {region.key} in the price catalog; priced throughputs there", tiers))
    return out


def validate(spec: PlatformSpec) -> list[SpecIssue]:
    """All issues of a parsed spec, in config order."""
    return (_project_issues(spec) + _region_issues(spec) + _network_issues(spec) + _workload_issues(spec)
            + access_issues(spec) + [SpecIssue(path, message) for path, message in policy_issues(spec)]
            + price_issues(spec))

