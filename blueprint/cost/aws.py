"""Pricers for AWS resource types (type tokens as pulumi-aws v7 declares them)."""
from __future__ import annotations

from blueprint import catalog
from blueprint.cost.context import Ctx, Free, Unpriced, known, pricer
from blueprint.cost.model import CostComponent
from blueprint.cost.pools import (CAPACITY_BLOCK, ON_DEMAND, RESERVED, SPOT, PoolShape, instance_component,
                                  interruption_overhead, node_hours, per_node_volume, pick_rate)
from blueprint.plan.model import PlannedResource

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def _launch_template(r: PlannedResource, ctx: Ctx) -> PlannedResource | None:
    """The node group's launch template: by name when the plan knows it, else the one beside it."""
    wanted = r.get("launchTemplate.name")
    candidates = ctx.index.siblings(r, LAUNCH_TEMPLATE)
    for lt in candidates:
        if known(wanted) and lt.inputs.get("name") == wanted:
            return lt
    named = [lt for lt in candidates if lt.name == f"{r.name}-lt"]
    return (named or candidates or [None])[0] if r.get("launchTemplate") else None


def _capacity(r: PlannedResource, lt: PlannedResource | None) -> str:
    kind = str(r.inputs.get("capacityType", "ON_DEMAND")).upper()
    if kind == "SPOT":
        return SPOT
    if kind == "CAPACITY_BLOCK" or (lt is not None and lt.get("instanceMarketOptions.marketType") == "capacity-block"):
        return CAPACITY_BLOCK
    target = lt.get("capacityReservationSpecification.capacityReservationTarget") if lt is not None else None
    if isinstance(target, dict) and (target.get("capacityReservationId") or
                                     target.get("capacityReservationResourceGroupArn")):
        return RESERVED
    return ON_DEMAND


@pricer("aws:eks/nodeGroup:NodeGroup")
def node_group(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    lt = _launch_template(r, ctx)
    types = r.inputs.get("instanceTypes") or []
    instance_type = types[0] if types and known(types[0]) else (lt.inputs.get("instanceType") if lt else None)
    if not known(instance_type):
        raise Unpriced("instance type unknown (neither instanceTypes nor a launch template instanceType)")
    scaling = r.inputs.get("scalingConfig") or {}
    shape = PoolShape(int(scaling.get("minSize", 0)), int(scaling.get("desiredSize", scaling.get("minSize", 0))),
                      int(scaling.get("maxSize", 1)), _capacity(r, lt))
    rate, on_demand = pick_rate(ctx, shape, "ec2", instance_type)
    hours = node_hours(shape, ctx)
    label = "Capacity reservation" if shape.capacity == RESERVED else "Instance usage"
    compute = instance_component(label, f"Linux, {instance_type}", shape, ctx, rate, on_demand, hours)
    return [compute, *interruption_overhead(shape, ctx, compute), *_root_volume(r, lt, ctx, hours)]


def _root_volume(r: PlannedResource, lt: PlannedResource | None, ctx: Ctx, hours) -> list[CostComponent]:
    ebs = (lt.get("blockDeviceMappings[0].ebs") if lt is not None else None) or {}
    size = float(ebs.get("volumeSize") or r.inputs.get("diskSize") or 20)
    kind = str(ebs.get("volumeType") or "gp3")
    out = [per_node_volume(f"Root volume ({kind}, {size:,.0f} GB per node)", ctx,
                           ctx.price("ebs", f"{kind}-storage"), size, hours)]
    if kind == "gp3":
        iops, throughput = float(ebs.get("iops") or 3000), float(ebs.get("throughput") or 125)
        if iops > 3000:
            out.append(per_node_volume(f"Root volume IOPS above 3,000 ({iops - 3000:,.0f} per node)", ctx,
                                       ctx.price("ebs", "gp3-iops"), iops - 3000, hours))
        if throughput > 125:
            out.append(per_node_volume(f"Root volume throughput above 125 MB/s ({throughput - 125:,.0f} per node)",
                                       ctx, ctx.price("ebs", "gp3-throughput"), throughput - 125, hours))
    return out


@pricer("aws:ebs/volume:Volume")
def ebs_volume(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    kind, size = str(r.inputs.get("type") or "gp3"), float(r.inputs.get("size") or 0)
    if not size:
        raise Unpriced("volume size unknown (from a snapshot)")
    out = [ctx.flat(f"Storage ({kind})", ctx.price("ebs", f"{kind}-storage"), size)]
    if kind == "gp3":
        iops, throughput = float(r.inputs.get("iops") or 3000), float(r.inputs.get("throughput") or 125)
        if iops > 3000:
            out.append(ctx.flat("Provisioned IOPS above 3,000", ctx.price("ebs", "gp3-iops"), iops - 3000))
        if throughput > 125:
            out.append(ctx.flat("Throughput above 125 MB/s", ctx.price("ebs", "gp3-throughput"), throughput - 125))
    return out


@pricer("aws:eks/cluster:Cluster")
def eks_cluster(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    version = str(r.inputs.get("version") or "")
    support = str(r.get("upgradePolicy.supportType") or "EXTENDED").upper()  # EKS defaults to EXTENDED
    extended = support == "EXTENDED" and version and version not in catalog.kubernetes_versions("aws")
    sku = "cluster-extended" if extended else "cluster-standard"
    what = "extended support" if extended else "standard support"
    return [ctx.hourly(f"EKS cluster ({what}, Kubernetes {version or 'default'})", ctx.price("eks", sku)),
            ctx.metered("Cross-AZ traffic (GB crossing zones, billed out of one and into the other)",
                        ctx.price("data-transfer", "intra-region"), "monthly_cross_az_gb", 2)]


@pricer("aws:ec2/natGateway:NatGateway")
def nat_gateway(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.hourly("NAT gateway", ctx.price("vpc", "nat-gateway-hour")),
            ctx.metered("Data processed", ctx.price("vpc", "nat-gateway-data"), "monthly_data_processed_gb")]


@pricer("aws:ec2/eip:Eip")
def elastic_ip(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.hourly("Public IPv4 address", ctx.price("vpc", "public-ipv4-hour"))]


@pricer("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    kind = str(r.inputs.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        raise Free("gateway endpoints (S3, DynamoDB) carry no charge")
    if kind != "Interface":
        raise Unpriced(f"{kind} endpoints are not in the catalog")
    azs = len(r.inputs.get("subnetIds") or []) or 1
    service = str(r.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    return [ctx.hourly(f"Interface endpoint ({service}, {azs} AZ)", ctx.price("privatelink",
                       "interface-endpoint-az-hour"), azs),
            ctx.metered("Data processed", ctx.price("privatelink", "interface-endpoint-data"),
                        "monthly_data_processed_gb")]


@pricer("aws:fsx/lustreFileSystem:LustreFileSystem")
def fsx_lustre(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    deployment = str(r.inputs.get("deploymentType") or "SCRATCH_1")
    throughput = r.inputs.get("perUnitStorageThroughput")
    sku = f"{deployment}-{int(throughput)}" if throughput else deployment
    capacity = float(r.inputs.get("storageCapacity") or 0)
    if str(r.inputs.get("storageType", "SSD")) != "SSD":
        raise Unpriced("FSx for Lustre HDD storage is not in the catalog")
    what = f"{deployment}, {int(throughput)} MB/s/TiB" if throughput else deployment
    out = [ctx.flat(f"Storage ({what}, {capacity:,.0f} GiB)", ctx.price("fsx-lustre", sku), capacity)]
    if float(r.inputs.get("automaticBackupRetentionDays") or 0) > 0:
        out.append(ctx.metered("Backups", ctx.price("fsx-lustre", "backup"), "backup_gb"))
    return out


def storage_by_class(ctx: Ctx, service: str, region: str, label: str) -> list[CostComponent]:
    """One component per storage class in the usage file's ``storage_gb``; unknown when the file has none."""
    classes = ctx.usage.get("storage_gb")
    if not classes:
        return [ctx.metered(f"{label} (STANDARD)", ctx.price(service, "STANDARD", region), "storage_gb")]
    return [ctx.flat(f"{label} ({cls})", ctx.price(service, cls, region), float(gb))
            for cls, gb in classes.items() if gb]


@pricer("aws:s3/bucket:Bucket")
def s3_bucket(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    out = storage_by_class(ctx, "s3", ctx.region, "Storage")
    out.append(ctx.metered("PUT, COPY, POST, LIST requests", ctx.price("s3", "put-requests"),
                           "monthly_put_requests", 1 / 1000))
    out.append(ctx.metered("GET and other requests", ctx.price("s3", "get-requests"), "monthly_get_requests",
                           1 / 1000))
    return out


@pricer("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
def s3_replication(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.metered("Replication transfer (inter-region)", ctx.price("data-transfer", "inter-region"),
                        "monthly_replicated_gb")]


@pricer("aws:kms/key:Key")
def kms_key(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.flat("Customer managed key", ctx.price("kms", "key-month"), 1, "key-month"),
            ctx.metered("Requests", ctx.price("kms", "requests"), "monthly_requests", 1 / 10_000)]


@pricer("aws:cloudwatch/logGroup:LogGroup")
def log_group(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.metered("Log ingestion", ctx.price("cloudwatch-logs", "ingestion"), "monthly_ingested_gb"),
            ctx.metered("Log storage", ctx.price("cloudwatch-logs", "storage"), "stored_gb")]


@pricer("aws:route53/zone:Zone")
def hosted_zone(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.flat("Hosted zone", ctx.price("route53", "hosted-zone", "global"), 1, "zone-month"),
            ctx.metered("Latency-based queries", ctx.price("route53", "latency-queries", "global"),
                        "monthly_latency_queries")]


@pricer("aws:route53/healthCheck:HealthCheck")
def health_check(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    """Endpoints outside AWS (usage ``endpoint: non-aws``, e.g. a GCP serving region) bill at the non-AWS rates."""
    kind = str(r.inputs.get("type", "HTTP"))
    features = sum([kind.startswith("HTTPS"), kind.endswith("STR_MATCH"),
                    float(r.inputs.get("requestInterval") or 30) <= 10, bool(r.inputs.get("measureLatency"))])
    endpoint = str(ctx.usage.get("endpoint", "aws"))
    if endpoint not in ("aws", "non-aws"):
        raise Unpriced(f"usage endpoint must be 'aws' or 'non-aws', got {endpoint!r}")
    suffix = "-non-aws" if endpoint == "non-aws" else ""
    out = [ctx.flat(f"Health check ({endpoint} endpoint)", ctx.price("route53", f"health-check{suffix}", "global"),
                    1, "check-month")]
    if features:
        out.append(ctx.flat(f"Optional features ({features})", ctx.price("route53", f"health-check-feature{suffix}",
                                                                         "global"), features, "feature-month"))
    return out


@pricer("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
def tgw_vpc_attachment(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.hourly("Transit Gateway VPC attachment", ctx.price("transit-gateway", "attachment-hour")),
            ctx.metered("Data processed", ctx.price("transit-gateway", "data-processed"), "monthly_data_processed_gb")]


@pricer("aws:ec2transitgateway/peeringAttachment:PeeringAttachment")
def tgw_peering(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    # Hourly attachment charge once, on the requester; the accepter side is classified free so it is not counted
    # twice. Peering traffic is not charged data processing, only inter-region transfer.
    return [ctx.hourly("Transit Gateway peering attachment", ctx.price("transit-gateway", "attachment-hour")),
            ctx.metered("Inter-region transfer", ctx.price("data-transfer", "inter-region"), "monthly_data_gb")]


@pricer("aws:ec2/vpnConnection:VpnConnection")
def vpn_connection(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    out = [ctx.hourly("Site-to-Site VPN connection (2 tunnels)", ctx.price("vpn", "connection-hour"))]
    if known(r.inputs.get("transitGatewayId")) or r.inputs.get("transitGatewayId"):
        out.append(ctx.hourly("Transit Gateway VPN attachment", ctx.price("transit-gateway", "attachment-hour")))
    out.append(ctx.metered("Data transfer out over the VPN", ctx.price("data-transfer", "internet-egress"),
                           "monthly_egress_gb"))
    return out


@pricer("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    kind = str(r.inputs.get("loadBalancerType") or "application")
    if kind != "network":
        raise Unpriced(f"{kind} load balancers are not in the catalog")
    out = [ctx.hourly("Network Load Balancer", ctx.price("elb", "nlb-hour")),
           ctx.metered("NLCUs", ctx.price("elb", "nlcu-hour"), "monthly_nlcu_hours")]
    if not r.inputs.get("internal"):  # one public IPv4 address per subnet (zone) it serves
        zones = len(r.inputs.get("subnets") or r.inputs.get("subnetMappings") or []) or 1
        out.append(ctx.hourly(f"Public IPv4 addresses ({zones})", ctx.price("vpc", "public-ipv4-hour"), zones))
        out.append(ctx.metered("Internet egress (responses to clients)", ctx.price("data-transfer", "internet-egress"),
                               "monthly_internet_egress_gb"))
    return out


@pricer("aws:globalaccelerator/accelerator:Accelerator")
def global_accelerator(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    return [ctx.hourly("Accelerator fixed fee", ctx.price("global-accelerator", "accelerator-hour", "global")),
            ctx.metered("Data transfer premium", ctx.price("global-accelerator", "dt-premium", "global"),
                        "monthly_dt_premium_gb")]


@pricer("aws:route53/resolverEndpoint:ResolverEndpoint")
def resolver_endpoint(r: PlannedResource, ctx: Ctx) -> list[CostComponent]:
    enis = len(r.inputs.get("ipAddresses") or []) or 2
    direction = str(r.inputs.get("direction", "")).lower()
    return [ctx.hourly(f"Resolver endpoint, {direction} ({enis} IP addresses)",
                       ctx.price("route53-resolver", "endpoint-eni-hour"), enis),
            ctx.metered("Queries through the endpoint", ctx.price("route53-resolver", "queries"),
                        "monthly_queries_millions")]
