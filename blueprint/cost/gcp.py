"""Pricers for GCP resource types (type tokens as pulumi-gcp declares them)."""
from __future__ import annotations

from blueprint import catalog
from blueprint.cost.aws import storage_by_class
from blueprint.cost.context import MULTI_REGIONS, Ctx, Free, Unpriced, known, pricer, region_of
from blueprint.cost.model import CostComponent, Range
from blueprint.cost.pools import ON_DEMAND, RESERVED, SPOT, PoolShape, instance_component, interruption_overhead, \
    node_hours, per_node_volume, pick_rate
from blueprint.plan.model import PlannedResource


def _zones(r: PlannedResource, ctx: Ctx) -> int:
    locations = r.inputs.get("nodeLocations")
    if isinstance(locations, list) and locations:
        return len(locations)
    location = str(r.inputs.get("location") or "")
    return 1 if location.count("-") >= 2 else 3  # a zonal cluster, else GKE's default of three zones


def _shape(r: PlannedResource, ctx: Ctx, capacity: str) -> PoolShape:
    """Totals across zones. GKE creates initialNodeCount (and nodeCount) nodes in every zone; with total limits
    the autoscaler keeps that within them, per-zone limits are multiplied by the zones."""
    auto = r.inputs.get("autoscaling") or {}
    initial = int(r.inputs.get("initialNodeCount") or r.inputs.get("nodeCount") or 0)
    zones = _zones(r, ctx)
    if "totalMinNodeCount" in auto or "totalMaxNodeCount" in auto:
        low, high = int(auto.get("totalMinNodeCount", 0)), int(auto.get("totalMaxNodeCount", 1))
        return PoolShape(low, min(max(initial * zones, low), high), high, capacity)
    if auto:
        low, high = int(auto.get("minNodeCount", 0)) * zones, int(auto.get("maxNodeCount", 1)) * zones
        return PoolShape(low, min(max(initial * zones, low), high), high, capacity)
    fixed = int(r.inputs.get("nodeCount") or initial) * zones
    return PoolShape(fixed, fixed, fixed, capacity)


def _accelerators(node_config: dict) -> list[tuple[str, int]]:
    return [(str(a.get("type")), int(a.get("count") or 0)) for a in node_config.get("guestAccelerators") or []
            if a.get("type")]


@pricer("gcp:container/nodePool:NodePool")
def node_pool(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    """One line per pool at the billing catalog's price of the whole machine: A2, A3 and G2 machines always carry
    their GPUs (and A2 Ultra / A3 their local SSD), and the catalog's machine price includes them."""
    config = r.inputs.get("nodeConfig") or {}
    machine_type = str(config.get("machineType") or "e2-medium")
    facts = catalog.instance("gcp", machine_type)
    listed = _accelerators(config)
    if listed and facts is None:
        raise Unpriced(f"GPUs {listed} attached to {machine_type}: only machines whose price includes their GPUs "
                       "(the GPU catalog's A2, A3 and G2 types) are priced")
    if config.get("spot") or config.get("preemptible"):
        capacity = SPOT
    elif (config.get("reservationAffinity") or {}).get("consumeReservationType") == "SPECIFIC_RESERVATION":
        capacity = RESERVED
    else:
        capacity = ON_DEMAND
    shape = _shape(r, ctx, capacity)
    hours = node_hours(shape, ctx)
    zones = tuple(str(z) for z in r.inputs.get("nodeLocations") or [] if known(z))
    rate, on_demand = pick_rate(ctx, shape, "compute", machine_type, zones)
    detail = (f"{machine_type}, incl. {facts.gpus} x {facts.gke_accelerator} and any bundled local SSD"
              if facts is not None else machine_type)
    compute = instance_component("Machine", detail, shape, ctx, rate, on_demand, hours)
    return [compute, *interruption_overhead(shape, ctx, compute), *_boot_disk(config, ctx, hours)]


def _boot_disk(config: dict, ctx: Ctx, hours: Range) -> list[CostComponent]:
    """Provisioned capacity per node. A missing disk price, or Hyperdisk IOPS / throughput provisioned above the
    baseline (3,000 IOPS, 140 MiB/s, not in the catalog), is listed as an unpriced part of the pool."""
    boot = config.get("bootDisk") or {}
    disk_type = str(boot.get("diskType") or config.get("diskType") or "pd-balanced")
    disk_gb = float(boot.get("sizeGb") or config.get("diskSizeGb") or 100)
    for key, baseline, what in (("provisionedIops", 3000, "IOPS"), ("provisionedThroughput", 140, "MiB/s")):
        if known(boot.get(key)) and float(boot[key]) > baseline:
            ctx.unpriced_part(f"boot disk {what} above {baseline:,}",
                              f"provisioned {float(boot[key]):,.0f} {what} on {disk_type}: not in the catalog")
    price = ctx.part_price(f"boot disk ({disk_type})", "disks", disk_type)
    if price is None:
        return []
    return [per_node_volume(f"Boot disk ({disk_type}, {disk_gb:,.0f} GB per node)", ctx, price, disk_gb, hours)]


@pricer("gcp:container/cluster:Cluster")
def gke_cluster(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    version = str(r.inputs.get("minMasterVersion") or "")
    channel = str(r.get("releaseChannel.channel") or "REGULAR")
    extended = channel == "EXTENDED" and version and version not in catalog.kubernetes_versions("gcp")
    sku = "cluster-extended" if extended else "cluster-standard"
    return [ctx.hourly(f"GKE cluster management ({'extended' if extended else 'standard'})",
                       ctx.price("gke", sku, "global")),
            ctx.metered("Cross-zone traffic (GB crossing zones, billed out of one and into the other)",
                        ctx.price("network", "inter-zone"), "monthly_cross_az_gb", 2),
            ctx.metered("Cloud Logging ingestion (system and workload logs)", ctx.price("logging", "ingestion",
                                                                                        "global"),
                        "monthly_log_ingested_gib")]


@pricer("gcp:compute/routerNat:RouterNat")
def cloud_nat(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    vms = ctx.usage.get("vm_count")
    cap = ctx.price("cloud-nat", "gateway-hour-cap")
    per_vm = ctx.price("cloud-nat", "vm-hour")
    if vms is None:
        uptime = ctx.hourly("NAT gateway uptime (at the 32-VM cap)", cap)
    elif float(vms) >= 32:
        uptime = ctx.hourly(f"NAT gateway uptime ({int(vms)} VMs, capped)", cap)
    else:
        uptime = ctx.flat(f"NAT gateway uptime ({int(vms)} VMs)", per_vm, float(vms) * ctx.hours, "VM-hours")
    return [uptime, ctx.metered("Data processed", ctx.price("cloud-nat", "data-processed"),
                                "monthly_data_processed_gb")]


@pricer("gcp:filestore/instance:Instance")
def filestore(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    tier = str(r.inputs.get("tier") or "BASIC_HDD")
    shares = r.inputs.get("fileShares") or {}
    shares = shares[0] if isinstance(shares, list) and shares else shares
    capacity = float(shares.get("capacityGb") or 0)
    return [ctx.flat(f"Capacity ({tier}, {capacity:,.0f} GiB)", ctx.price("filestore", tier), capacity)]


def _gcs_location(r: PlannedResource) -> tuple[str, str]:
    """(price-catalog location, description): regional, dual-region (configurable) or multi-region."""
    location = str(r.inputs.get("location") or "US").lower()
    placement = r.get("customPlacementConfig.dataLocations")
    if placement:
        return f"dual-region/{location}", f"dual-region {'+'.join(str(p).lower() for p in placement)}"
    if location in MULTI_REGIONS:
        return f"multi-region/{location}", f"multi-region {location}"
    if location in ("nam4", "eur4", "asia1"):
        return f"dual-region/{ {'nam4': 'us', 'eur4': 'eu', 'asia1': 'asia'}[location]}", f"dual-region {location}"
    return location, location


@pricer("gcp:storage/bucket:Bucket")
def gcs_bucket(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    where, label = _gcs_location(r)
    ctx.label = where.replace("/", ":") if "/" in where else None  # "dual-region:us", "multi-region:eu"
    out = storage_by_class(ctx, "gcs", where, f"Storage, {label}")
    out.append(ctx.metered("Class A operations", ctx.price("gcs", "class-a-operations", where),
                           "monthly_put_requests", 1 / 1000))
    out.append(ctx.metered("Class B operations", ctx.price("gcs", "class-b-operations", where),
                           "monthly_get_requests", 1 / 1000))
    if where.startswith("dual-region/"):
        sku = "turbo-replication" if r.inputs.get("rpo") == "ASYNC_TURBO" else "replication"
        out.append(ctx.metered(f"{'Turbo r' if sku == 'turbo-replication' else 'R'}eplication (per GB written)",
                               ctx.price("gcs", sku, where), "monthly_written_gb"))
    return out


@pricer("gcp:kms/cryptoKey:CryptoKey")
def gcp_kms_key(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    versions = float(ctx.usage.get("key_versions", 1))
    return [ctx.flat("Active key versions", ctx.price("kms", "key-version-month", "global"), versions,
                     "key-version-month"),
            ctx.metered("Cryptographic operations", ctx.price("kms", "operations", "global"), "monthly_requests",
                        1 / 10_000)]


@pricer("gcp:compute/vPNTunnel:VPNTunnel")
def vpn_tunnel(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.hourly("HA VPN tunnel", ctx.price("vpn", "tunnel-hour")),
            ctx.metered("Egress over the tunnel", ctx.price("network", "internet-egress"), "monthly_egress_gb")]


@pricer("gcp:compute/address:Address")
def external_address(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    if str(r.inputs.get("addressType") or "EXTERNAL") == "INTERNAL":
        raise Free("internal addresses carry no charge")
    return [ctx.hourly("External IP address", ctx.price("network", "external-ip-hour"))]


@pricer("gcp:compute/globalForwardingRule:GlobalForwardingRule")
def global_forwarding_rule(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.hourly("Forwarding rule", ctx.price("lb", "forwarding-rule-hour", "global")),
            ctx.metered("Data processed", ctx.price("lb", "data-processed", "global"), "monthly_data_processed_gb")]



@pricer("gcp:dns/managedZone:ManagedZone")
def dns_zone(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.flat(f"Managed zone ({r.inputs.get('visibility', 'public')})",
                     ctx.price("dns", "managed-zone", "global"), 1, "zone-month"),
            ctx.metered("Queries", ctx.price("dns", "queries", "global"), "monthly_queries_millions")]


@pricer("gcp:dns/policy:Policy")
def dns_policy(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    if not r.inputs.get("enableInboundForwarding"):
        raise Free("server policies without inbound forwarding carry no charge")
    return [ctx.metered("Inbound forwarded queries", ctx.price("dns", "queries", "global"),
                        "monthly_queries_millions")]


def _s3_source_region(r: PlannedResource, ctx: Ctx) -> str | None:
    """The AWS region of a transfer job's S3 source: the region of the planned bucket of that name."""
    name = r.get("transferSpec.awsS3DataSource.bucketName")
    for bucket in ctx.index.plan.of_type("aws:s3/bucket:Bucket"):
        if bucket.inputs.get("bucket") == name:
            return region_of(bucket, ctx.index)
    return None


@pricer("gcp:storage/transferJob:TransferJob")
def transfer_job(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    """Agentless cloud-to-cloud transfers carry no Storage Transfer Service charge; an S3 source bills the bytes
    it sends to Google as AWS data transfer out to the internet, at the source region's rate (usage
    ``monthly_transferred_gb``). Writes into the sink bill at the sink bucket."""
    if not r.get("transferSpec.awsS3DataSource"):
        raise Free("agentless transfers between Cloud Storage buckets carry no Storage Transfer Service charge")
    region = _s3_source_region(r, ctx)
    if region is None:
        raise Unpriced("no aws/data-transfer price for 'internet-egress' in the S3 source region (not in the plan)")
    price = ctx.price("data-transfer", "internet-egress", region, cloud="aws")
    return [ctx.metered(f"AWS data transfer out of {region} (internet egress, S3 source)", price,
                        "monthly_transferred_gb")]


def _gke_region(r: PlannedResource, ctx: Ctx) -> str | None:
    """The region of the GKE cluster a Kubernetes object is deployed to (its provider's kubeconfig source)."""
    provider = ctx.index.by_urn.get(r.provider_urn or "")
    if provider is None:
        return None
    for urn in [*provider.property_dependencies.get("kubeconfig", []), *provider.dependencies]:
        cluster = ctx.index.by_urn.get(urn)
        if cluster is not None and cluster.type == "gcp:container/cluster:Cluster":
            return region_of(cluster, ctx.index)
    return None


@pricer("kubernetes:gateway.networking.k8s.io/v1:Gateway")
def gke_gateway(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    """A GKE Gateway (class ``gke-l7-*``) makes Google create an external Application Load Balancer outside the
    stack: its forwarding rule, the data it processes and the responses it sends to the internet bill here. Other
    gateway classes run on nodes behind a load balancer the stack declares (priced there)."""
    gateway_class = str(r.get("spec.gatewayClassName") or "")
    if not gateway_class.startswith("gke-l7-"):
        raise Free(f"gateway class '{gateway_class}' runs on priced nodes behind a declared load balancer")
    region = _gke_region(r, ctx)
    if region is None:
        raise Unpriced("GKE gateway whose cluster (and so egress region) is not in the plan")
    ctx.where = f"gcp/{region}"
    return [ctx.hourly("Forwarding rule (Google-managed load balancer)",
                       ctx.price("lb", "forwarding-rule-hour", "global", cloud="gcp")),
            ctx.metered("Data processed by the load balancer", ctx.price("lb", "data-processed", "global", cloud="gcp"),
                        "monthly_data_processed_gb"),
            ctx.metered(f"Internet egress from {region} (responses to clients)",
                        ctx.price("network", "internet-egress", region, cloud="gcp"), "monthly_internet_egress_gb")]
