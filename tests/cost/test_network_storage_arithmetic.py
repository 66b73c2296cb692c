"""Hand-computed NAT, endpoint, storage (S3/GCS per class, FSx, Filestore, EBS), TGW, VPN and transfer costs,
the "usage unknown" line, and free / unpriced classification."""
from __future__ import annotations

import pytest

from blueprint.cost import load_prices
from blueprint.cost.context import Ctx, Unpriced
from tests.cost.helpers import HOURS, approx, aws_provider, component, gcp_provider, priced


def test_nat_gateway_hours_plus_data_and_unknown_usage_line():
    def program():
        import pulumi_aws as aws
        opts = aws_provider()
        for name in ("nat-a", "nat-b"):
            aws.ec2.NatGateway(name, subnet_id="subnet-1", allocation_id="eipalloc-1", opts=opts)
    est = priced(program, {"resource_usage": {"nat-a": {"monthly_data_processed_gb": 1000}}})
    assert est.item("nat-a").monthly.expected == approx(HOURS * 0.045 + 1000 * 0.045)  # 32.85 + 45.00
    data = component(est.item("nat-b"), "Data processed")
    assert data.usage_unknown and data.describe_unknown() == "priced at $0.045 per GB, usage unknown"
    assert est.item("nat-b").monthly.expected == approx(32.85)
    assert len(est.usage_unknown()) == 1


def test_interface_endpoint_per_az_and_gateway_endpoint_free():
    def program():
        import pulumi_aws as aws
        opts = aws_provider()
        aws.ec2.VpcEndpoint("ecr", vpc_id="vpc-1", service_name="com.amazonaws.us-east-1.ecr.api",
                            vpc_endpoint_type="Interface", subnet_ids=["s-1", "s-2", "s-3"], opts=opts)
        aws.ec2.VpcEndpoint("s3", vpc_id="vpc-1", service_name="com.amazonaws.us-east-1.s3",
                            vpc_endpoint_type="Gateway", opts=opts)
    est = priced(program)
    assert est.item("ecr").monthly.expected == approx(3 * HOURS * 0.01)  # $21.90
    assert [f.reason for f in est.free if f.urn.endswith("::s3")] == ["gateway endpoints (S3, DynamoDB) carry no charge"]


def test_s3_and_gcs_storage_per_class():
    def program():
        import pulumi_aws as aws
        import pulumi_gcp.storage as storage
        aws.s3.Bucket("aws-data", opts=aws_provider())
        storage.Bucket("gcp-data", location="US-CENTRAL1", opts=gcp_provider())
        storage.Bucket("gcp-models", location="US", rpo="ASYNC_TURBO",
                       custom_placement_config={"data_locations": ["US-CENTRAL1", "US-EAST4"]}, opts=gcp_provider())
    est = priced(program, {"resource_usage": {
        "aws-data": {"storage_gb": {"STANDARD": 1000, "GLACIER_IR": 2000, "DEEP_ARCHIVE": 10000},
                     "monthly_put_requests": 100_000},
        "gcp-data": {"storage_gb": {"STANDARD": 1000, "NEARLINE": 500, "ARCHIVE": 1000}},
        "gcp-models": {"storage_gb": {"STANDARD": 100}, "monthly_written_gb": 50}}})
    s3 = est.item("aws-data")
    assert component(s3, "Storage (STANDARD)").monthly.expected == approx(23.0)
    assert component(s3, "Storage (GLACIER_IR)").monthly.expected == approx(8.0)
    assert component(s3, "Storage (DEEP_ARCHIVE)").monthly.expected == approx(9.9)
    assert component(s3, "PUT").monthly.expected == approx(0.5)  # 100 x 1k requests x $0.005
    assert s3.monthly.expected == approx(23 + 8 + 9.9 + 0.5)
    assert est.item("gcp-data").monthly.expected == approx(20 + 5 + 1.2)
    models = est.item("gcp-models")
    assert models.region == "gcp/dual-region:us"
    # the dual-region Standard SKU is $0.044/GB-month (issue 19: the catalog had $0.022), + turbo replication
    assert models.monthly.expected == approx(100 * 0.044 + 50 * 0.04)


def test_a_storage_class_the_cloud_does_not_have_is_unpriced_not_dropped():
    def program():
        import pulumi_aws as aws
        aws.s3.Bucket("b", opts=aws_provider())
    est = priced(program, {"resource_usage": {"b": {"storage_gb": {"COLDLINE": 10}}}})
    assert not est.items
    assert [(u.type, u.reason) for u in est.unpriced] == \
        [("aws:s3/bucket:Bucket", "no aws/s3 price for 'COLDLINE' in us-east-1")]


def test_fsx_filestore_and_ebs():
    def program():
        import pulumi_aws as aws
        import pulumi_gcp.filestore as filestore
        opts = aws_provider()
        aws.fsx.LustreFileSystem("fsx", storage_capacity=2400, deployment_type="PERSISTENT_2",
                                 per_unit_storage_throughput=250, subnet_ids="subnet-1",
                                 automatic_backup_retention_days=7, opts=opts)
        aws.ebs.Volume("vol", availability_zone="us-east-1a", size=100, type="gp3", iops=4000, throughput=200,
                       opts=opts)
        filestore.Instance("fs", tier="ZONAL", location="us-central1-a",
                           file_shares={"name": "d", "capacity_gb": 2560},
                           networks=[{"network": "n", "modes": ["MODE_IPV4"]}], opts=gcp_provider())
    est = priced(program, {"resource_usage": {"fsx": {"backup_gb": 1000}}})
    assert est.item("fsx").monthly.expected == approx(2400 * 0.21 + 1000 * 0.05)  # 504 + 50
    assert est.item("fsx").components[0].price.kind == "reading"
    assert est.item("vol").monthly.expected == approx(100 * 0.08 + 1000 * 0.005 + 75 * 0.04)  # 8 + 5 + 3
    assert est.item("fs").monthly.expected == approx(2560 * 0.25)  # $640
    assert est.item("fs").region == "gcp/us-central1"


def test_fsx_throughput_tiers_without_a_reading_are_unpriced_not_guessed():
    """PERSISTENT_2 at 500 and 1000 MB/s/TiB: the old values were never read (issue 19 found them 19% and 35% low)."""
    def program():
        import pulumi_aws as aws
        aws.fsx.LustreFileSystem("fsx", storage_capacity=2400, deployment_type="PERSISTENT_2",
                                 per_unit_storage_throughput=1000, subnet_ids="subnet-1", opts=aws_provider())
    est = priced(program)
    assert not est.items
    assert [u.reason for u in est.unpriced] == ["no aws/fsx-lustre price for 'PERSISTENT_2-1000' in us-east-1"]


def test_serving_egress_and_health_checks_of_aws_and_non_aws_endpoints():
    def program():
        import pulumi_aws as aws
        opts = aws_provider()
        aws.lb.LoadBalancer("nlb", load_balancer_type="network", subnets=["s-1", "s-2"], opts=opts)
        for name in ("aws-us-east-1-serve-health", "gcp-us-central1-serve-health"):
            aws.route53.HealthCheck(name, type="HTTPS", fqdn="x.example.com", port=443, request_interval=10,
                                    failure_threshold=3, measure_latency=True, opts=opts)
    est = priced(program, {"resource_usage": {"nlb": {"monthly_internet_egress_gb": 1000},
                                              "gcp-*-health": {"endpoint": "non-aws"}}})
    assert component(est.item("nlb"), "Internet egress").monthly.expected == approx(1000 * 0.09)
    # HTTPS + fast interval + latency = 3 optional features
    assert est.item("aws-us-east-1-serve-health").monthly.expected == approx(0.50 + 3 * 1.00)
    assert est.item("gcp-us-central1-serve-health").monthly.expected == approx(0.75 + 3 * 2.00)


def test_gke_gateway_bills_its_google_managed_load_balancer_in_the_clusters_region():
    def program():
        import pulumi
        import pulumi_gcp.container as container
        import pulumi_kubernetes as k8s
        cluster = container.Cluster("gke", location="europe-west4", initial_node_count=1,
                                    opts=gcp_provider("europe-west4"))
        kube = k8s.Provider("kube", kubeconfig=cluster.endpoint)
        for name, cls in (("gke-gw", "gke-l7-global-external-managed"), ("envoy-gw", "envoy")):
            k8s.apiextensions.CustomResource(
                name, api_version="gateway.networking.k8s.io/v1", kind="Gateway",
                metadata={"name": name}, spec={"gatewayClassName": cls, "listeners": []},
                opts=pulumi.ResourceOptions(provider=kube))
    est = priced(program, {"resource_usage": {"gke-gw": {"monthly_internet_egress_gb": 500,
                                                         "monthly_data_processed_gb": 500}}})
    gateway = est.item("gke-gw")
    assert gateway.region == "gcp/europe-west4"
    assert gateway.monthly.expected == approx(HOURS * 0.025 + 500 * 0.008 + 500 * 0.12)
    assert [f.reason for f in est.free if f.urn.endswith("::envoy-gw")] == \
        ["gateway class 'envoy' runs on priced nodes behind a declared load balancer"]


def test_transit_gateway_vpn_and_tunnels():
    def program():
        import pulumi_aws as aws
        import pulumi_gcp.compute as compute
        opts = aws_provider()
        tgw = aws.ec2transitgateway.TransitGateway("tgw", opts=opts)
        aws.ec2transitgateway.VpcAttachment("attach", transit_gateway_id=tgw.id, vpc_id="vpc-1",
                                            subnet_ids=["s-1"], opts=opts)
        aws.ec2transitgateway.PeeringAttachment("peer", transit_gateway_id=tgw.id, peer_region="us-west-2",
                                                peer_transit_gateway_id="tgw-2", opts=opts)
        aws.ec2transitgateway.PeeringAttachmentAccepter("accept", transit_gateway_attachment_id="tgw-attach-1",
                                                        opts=opts)
        aws.ec2.VpnConnection("vpn", customer_gateway_id="cgw-1", type="ipsec.1", transit_gateway_id=tgw.id,
                              opts=opts)
        gw = compute.HaVpnGateway("ha", region="us-central1", network="n", opts=gcp_provider())
        compute.VPNTunnel("tunnel", region="us-central1", shared_secret="s", vpn_gateway=gw.id,
                          vpn_gateway_interface=0, router="r", opts=gcp_provider())
    est = priced(program, {"resource_usage": {"attach": {"monthly_data_processed_gb": 1000},
                                              "peer": {"monthly_data_gb": 500},
                                              "tunnel": {"monthly_egress_gb": 100}}})
    assert est.item("attach").monthly.expected == approx(HOURS * 0.05 + 1000 * 0.02)  # 36.50 + 20
    assert est.item("peer").monthly.expected == approx(HOURS * 0.05 + 500 * 0.02)
    assert est.item("vpn").monthly.expected == approx(2 * HOURS * 0.05)  # connection + TGW VPN attachment
    assert est.item("tunnel").monthly.expected == approx(HOURS * 0.05 + 100 * 0.12)
    free = {f.type for f in est.free}
    assert {"aws:ec2transitgateway/transitGateway:TransitGateway", "gcp:compute/haVpnGateway:HaVpnGateway",
            "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter"} <= free


def test_network_load_balancer_hours_nlcus_and_public_addresses_application_unpriced():
    def program():
        import pulumi_aws as aws
        opts = aws_provider()
        aws.lb.LoadBalancer("public-nlb", load_balancer_type="network", subnets=["s-1", "s-2", "s-3"], opts=opts)
        aws.lb.LoadBalancer("internal-nlb", load_balancer_type="network", internal=True, subnets=["s-1"],
                            opts=opts)
        aws.lb.LoadBalancer("alb", load_balancer_type="application", subnets=["s-1", "s-2"], opts=opts)
        aws.lb.Listener("tls", load_balancer_arn="arn:lb", port=443, protocol="TLS",
                        default_actions=[{"type": "forward", "target_group_arn": "arn:tg"}], opts=opts)
    est = priced(program, {"resource_usage": {"public-nlb": {"monthly_nlcu_hours": 1000}}})
    # 0.0225/h NLB + 1000 NLCU-h x 0.006 + one public IPv4 per subnet x 0.005/h
    assert est.item("public-nlb").monthly.expected == approx(HOURS * 0.0225 + 1000 * 0.006 + 3 * HOURS * 0.005)
    assert est.item("internal-nlb").monthly.expected == approx(HOURS * 0.0225)  # no addresses, NLCUs unknown
    assert component(est.item("internal-nlb"), "NLCUs").usage_unknown
    assert [(u.type, u.reason) for u in est.unpriced] == \
        [("aws:lb/loadBalancer:LoadBalancer", "application load balancers are not in the catalog")]
    assert est.free_types()["aws:lb/listener:Listener"] == 1


def test_transfers_between_regions_of_the_plan():
    def program():
        import pulumi_aws as aws
        aws.ec2.Eip("east", domain="vpc", opts=aws_provider("us-east-1"))
        aws.ec2.Eip("west", domain="vpc", opts=aws_provider("us-west-2"))
        aws.ec2.Eip("gcp-less", domain="vpc", opts=aws_provider("us-east-2"))
    est = priced(program, {"transfers": [
        {"from": "aws/us-east-1", "to": "aws/us-west-2", "monthly_gb": 1000},
        {"from": "aws/us-east-2", "to": "gcp/us-central1", "monthly_gb": 100},  # no GCP region in the plan
    ]})
    transfer = est.item("aws/us-east-1 -> aws/us-west-2")
    assert transfer.monthly.expected == approx(1000 * 0.02) and transfer.region == "aws/us-east-1"
    assert est.item("east").monthly.expected == approx(HOURS * 0.005)
    assert [i.type for i in est.items].count("usage:transfer") == 1


def test_free_unpriced_and_missing_region_are_all_listed():
    def program():
        import pulumi_aws as aws
        import pulumi_kubernetes as k8s
        opts = aws_provider("me-central-1")
        aws.iam.Role("role", assume_role_policy="{}", opts=opts)
        aws.ec2.SecurityGroup("sg", vpc_id="vpc-1", opts=opts)
        aws.ec2.NatGateway("nat", subnet_id="s", allocation_id="a", opts=opts)  # a region the catalog does not price
        aws.rds.Instance("db", instance_class="db.t3.micro", engine="postgres", allocated_storage=20, opts=opts)
        k8s.core.v1.Namespace("ns")
        k8s.core.v1.Service("lb", spec={"type": "LoadBalancer", "ports": [{"port": 80}]})
    est = priced(program)
    assert not est.items
    unpriced = {u.type: u.reason for u in est.unpriced}
    assert unpriced == {"aws:ec2/natGateway:NatGateway": "no aws/vpc price for 'nat-gateway-hour' in me-central-1",
                        "aws:rds/instance:Instance": "no pricer for this resource type",
                        "kubernetes:core/v1:Service": "no pricer for this resource type"}
    # what the budget gate needs: none is a GPU pool; the NAT gateway has a reference price (the highest hourly
    # rate of the same SKU in a priced region, data processed unknown), the other two none (unbounded)
    refs = {u.type: u.reference_usd for u in est.unpriced}
    assert refs["aws:ec2/natGateway:NatGateway"] == approx(HOURS * 0.045)
    assert refs["aws:rds/instance:Instance"] is None and refs["kubernetes:core/v1:Service"] is None
    assert not any(u.gpu for u in est.unpriced)
    free = est.free_types()
    assert free["aws:iam/role:Role"] == 1 and free["aws:ec2/securityGroup:SecurityGroup"] == 1
    assert free["kubernetes:core/v1:Namespace"] == 1


def test_a_pricer_can_read_another_clouds_price_and_its_unpriced_reason_names_that_cloud():
    """A GCP transfer job bills its S3 source at AWS data transfer prices."""
    ctx = Ctx(resource=None, index=None, prices=load_prices(), usage={}, cloud="gcp", region="us-central1")
    assert ctx.price("data-transfer", "internet-egress", "us-east-1", cloud="aws").usd == 0.09
    assert ctx.find_price("data-transfer", "internet-egress", "us-east-1") is None  # the resource's cloud by default
    with pytest.raises(Unpriced, match=r"^no aws/data-transfer price for 'internet-egress' in eu-north-9$"):
        ctx.price("data-transfer", "internet-egress", "eu-north-9", cloud="aws")
