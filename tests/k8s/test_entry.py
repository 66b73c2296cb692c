"""Every serving region's public entry point is declared by the program, and global routing points at it.

Read from the real plan (the offline engine; ids and ARNs stay unknown as in a preview, so wiring is checked through
the property dependencies Pulumi records): the EKS NLB, its TLS listener, certificate, target group and the
system node group's autoscaling group; the GKE Gateway's reserved address and certificate map; the regional
records; Route 53 health checks on the listeners' port and protocol; Global Accelerator endpoints; the
``gcp-global-lb`` mode's single front end.
"""
from __future__ import annotations

import pytest

from blueprint.plan import is_unknown
from cli.render import cluster_of
from components.k8s.entry import ENVOY_NODE_PORT
from tests.conftest import platform_config
from tests.k8s.conftest import spec_of, workload_plan
from tests.k8s.helpers import in_cluster, one_in

LB, TG = "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"
LISTENER, ATTACH = "aws:lb/listener:Listener", "aws:autoscaling/attachment:Attachment"
SG, SG_RULE = "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CERT, VALIDATION = "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"
RECORD, CHECK = "aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck"
ZONE = "aws:route53/zone:Zone"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
CERTMAP = "gcp:certificatemanager/certificateMap:CertificateMap"
MAP_ENTRY = "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry"
GCP_CERT = "gcp:certificatemanager/certificate:Certificate"
AUTHZ = "gcp:certificatemanager/dnsAuthorization:DnsAuthorization"


def deps(r, prop: str) -> set[str]:
    return set(r.property_dependencies.get(prop, []))


def in_serving_zone(plan, spec):
    """A predicate: is a record written in the serving zone (the declared zone, or the existing one looked up)?"""
    dns = spec.workloads.serving.dns
    if dns.existing_zone is not None:
        return lambda r: r.get("zoneId") == f"ZOFFLINE-{dns.existing_zone}"  # the offline look-up's answer
    zone = plan.one(ZONE, f"{spec.workloads.serving.name}-zone")
    return lambda r: deps(r, "zoneId") == {zone.urn}


def regional(spec, cluster: str) -> str:
    serve = spec.workloads.serving
    return f"{serve.name}.{cluster}.{serve.domain}"


def mine(plan, type_: str, cluster: str):
    return [r for r in plan.of_type(type_) if r.name.startswith(f"{cluster}-")]


def aws_serving(spec) -> list[str]:
    return [k.replace("/", "-") for k in spec.workloads.serving.regions if k.startswith("aws/")]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eks_nlb_listener_certificate_and_targets_are_wired(stack):
    spec, plan = spec_of(stack), workload_plan(stack)
    serve = spec.workloads.serving
    in_zone = in_serving_zone(plan, spec)
    for cluster in aws_serving(spec):
        (lb,) = mine(plan, LB, cluster)
        assert lb.get("loadBalancerType") == "network" and lb.get("internal") is False
        public = {s.urn for s in plan.of_type("aws:ec2/subnet:Subnet") if s.name.startswith(f"{cluster}-public-")}
        assert public and deps(lb, "subnets") == public, "the NLB lives in the region's public subnets"
        (own_sg,) = [g for g in plan.of_type(SG) if g.urn in deps(lb, "securityGroups")]
        (tg,) = mine(plan, TG, cluster)
        assert (tg.get("targetType"), tg.get("protocol"), tg.get("port")) == ("instance", "TCP", ENVOY_NODE_PORT)
        assert tg.get("healthCheck.protocol") == "TCP" and tg.get("healthCheck.port") == "traffic-port"
        (listener,) = mine(plan, LISTENER, cluster)
        assert (listener.get("protocol"), listener.get("port")) == ("TLS", 443)
        assert deps(listener, "loadBalancerArn") == {lb.urn}
        assert listener.get("defaultActions")[0]["type"] == "forward" and deps(listener, "defaultActions") == {tg.urn}
        (validation,) = mine(plan, VALIDATION, cluster)
        assert deps(listener, "certificateArn") == {validation.urn}, "the listener waits for an issued certificate"
        (cert,) = mine(plan, CERT, cluster)
        names = [cert.get("domainName"), *cert.get("subjectAlternativeNames")]
        assert names == [f"{serve.name}.{serve.domain}", regional(spec, cluster)]
        assert cert.get("validationMethod") == "DNS" and deps(validation, "certificateArn") == {cert.urn}
        # every name's validation record is in the serving zone (the global name's is shared across regions)
        records = [r for r in plan.of_type(RECORD) if r.urn in deps(validation, "validationRecordFqdns")]
        assert len(records) == len(names) and all(in_zone(r) for r in records)
        assert all(r.get("allowOverwrite") is True for r in records), "another stack may hold the same record"
        # the system node group's autoscaling group holds the targets (Envoy runs on system nodes)
        (attach,) = mine(plan, ATTACH, cluster)
        (system,) = [n for n in plan.of_type("aws:eks/nodeGroup:NodeGroup")
                     if n.name == f"{cluster}-system"]
        assert deps(attach, "autoscalingGroupName") == {system.urn} and deps(attach, "lbTargetGroupArn") == {tg.urn}
        # nodes admit the NLB's group on the NodePort only; the NLB's group alone admits the internet, on 443
        (eks,) = [c for c in plan.of_type("aws:eks/cluster:Cluster") if c.name.startswith(f"{cluster}-")]
        to_nodes = [r for r in plan.of_type(SG_RULE) if deps(r, "referencedSecurityGroupId") == {own_sg.urn}]
        assert [(deps(r, "securityGroupId"), r.get("fromPort"), r.get("toPort")) for r in to_nodes] == \
            [({eks.urn}, ENVOY_NODE_PORT, ENVOY_NODE_PORT)]
        public_in = [r for r in plan.of_type(SG_RULE) if deps(r, "securityGroupId") == {own_sg.urn}]
        assert [(r.get("cidrIpv4"), r.get("fromPort"), r.get("toPort")) for r in public_in] == \
            [("0.0.0.0/0", 443, 443)]


def test_regional_records_resolve_to_the_declared_nlb_and_gke_address():
    spec, plan = spec_of("prod"), workload_plan("prod")
    records = {r.get("name"): r for r in plan.of_type(RECORD) if not r.get("setIdentifier")}
    for cluster in aws_serving(spec):
        (lb,) = mine(plan, LB, cluster)
        rec = records[regional(spec, cluster)]
        assert rec.get("type") == "A" and rec.get("aliases")[0]["evaluateTargetHealth"] is True
        assert deps(rec, "aliases") == {lb.urn}
    (address,) = mine(plan, ADDRESS, "gcp-us-central1")
    rec = records[regional(spec, "gcp-us-central1")]
    assert rec.get("type") == "A" and deps(rec, "records") == {address.urn}


def test_gke_gateway_claims_the_reserved_address_and_the_certificate_map():
    spec, plan = spec_of("prod"), workload_plan("prod")
    serve, cluster = spec.workloads.serving, "gcp-us-central1"
    gateway = one_in(plan, GATEWAY, cluster)
    (address,) = mine(plan, ADDRESS, cluster)
    (certmap,) = mine(plan, CERTMAP, cluster)
    assert gateway.get("spec.addresses") == [{"type": "NamedAddress", "value": address.get("name")}]
    assert gateway.get("metadata.annotations")["networking.gke.io/certmap"] == certmap.get("name")
    assert {address.urn, certmap.urn} <= set(gateway.dependencies)
    (listener,) = gateway.get("spec.listeners")
    assert (listener["protocol"], listener["port"]) == ("HTTPS", 443) and "tls" not in listener
    route = one_in(plan, ROUTE, cluster)
    assert route.get("spec.parentRefs")[0]["sectionName"] == listener["name"]
    # the load balancer probes each backend Service on /readyz: the GKE Gateway's default would be "/" (a 404)
    policies = {p.get("spec.targetRef.name"): p for p in in_cluster(
        plan, "kubernetes:networking.gke.io/v1:HealthCheckPolicy", cluster)}
    backends = {b["name"] for rule in route.get("spec.rules") for b in rule["backendRefs"]}
    assert set(policies) == backends
    for p in policies.values():
        assert p.get("spec.default.config.httpHealthCheck") == {"portSpecification": "USE_SERVING_PORT",
                                                                "requestPath": "/readyz"}
        assert p.get("metadata.namespace") == route.get("metadata.namespace")
    (cert,) = mine(plan, GCP_CERT, cluster)
    hosts = [f"{serve.name}.{serve.domain}", regional(spec, cluster)]
    assert cert.get("managed.domains") == hosts
    entries = mine(plan, MAP_ENTRY, cluster)
    assert sorted(e.get("hostname") for e in entries) == sorted(hosts)
    assert all(deps(e, "certificates") == {cert.urn} and deps(e, "map") == {certmap.urn} for e in entries)
    # each domain's DNS authorization is on the certificate and its CNAME is written in the serving zone
    auths = [a for a in plan.of_type(AUTHZ) if a.urn in deps(cert, "managed")]
    assert sorted(a.get("domain") for a in auths) == sorted(hosts)
    in_zone = in_serving_zone(plan, spec)
    for auth in auths:
        assert [r for r in plan.of_type(RECORD) if deps(r, "name") == {auth.urn} and in_zone(r)
                and r.get("type") == "CNAME"]


def test_route53_latency_health_checks_probe_the_tls_listeners_by_name():
    spec, plan = spec_of("prod"), workload_plan("prod")
    serve = spec.workloads.serving
    latency = [r for r in plan.of_type(RECORD) if r.get("setIdentifier")]
    assert sorted(r.get("setIdentifier") for r in latency) == sorted(serve.regions)
    assert {r.get("latencyRoutingPolicies[0].region") for r in latency} == {"us-east-1", "us-west-2", "us-east-2"}
    regional_names = {r.get("name") for r in plan.of_type(RECORD) if r.get("name", "").count(".") > 2
                      and not r.get("setIdentifier")}
    checks = {c.urn: c for c in plan.of_type(CHECK)}
    for rec in latency:
        assert rec.get("name") == f"{serve.name}.{serve.domain}"
        cluster = rec.get("setIdentifier").replace("/", "-")
        (target,) = rec.get("records")
        assert target == regional(spec, cluster) and target in regional_names, "the CNAME target is a declared name"
        (check,) = [checks[u] for u in deps(rec, "healthCheckId")]
        assert (check.get("type"), check.get("port"), check.get("fqdn"), check.get("resourcePath"),
                check.get("enableSni")) == ("HTTPS", 443, target, "/readyz", True)
        # the probe's port and protocol are the region's listener: the NLB's TLS:443, or the GKE Gateway's HTTPS:443
        if cluster.startswith("aws-"):
            (listener,) = mine(plan, LISTENER, cluster)
            assert (listener.get("protocol"), listener.get("port")) == ("TLS", check.get("port"))
        else:
            lst = one_in(plan, GATEWAY, cluster).get("spec.listeners")[0]
            assert (lst["protocol"], lst["port"]) == ("HTTPS", check.get("port"))
        # the route answers /readyz on that name
        route = one_in(plan, ROUTE, cluster)
        assert target in route.get("spec.hostnames")
        assert {"type": "Exact", "value": "/readyz"} in [m["path"] for m in route.get("spec.rules[0].matches")]


def test_global_accelerator_endpoints_are_the_regional_nlbs():
    platform = platform_config("prod")
    platform["workloads"]["serving"]["globalRouting"] = "global-accelerator"
    spec, plan = spec_of("prod", platform), workload_plan("prod", platform)
    accel = plan.one("aws:globalaccelerator/accelerator:Accelerator")
    listener = plan.one("aws:globalaccelerator/listener:Listener")
    assert listener.get("portRanges") == [{"fromPort": 443, "toPort": 443}] and listener.get("protocol") == "TCP"
    groups = plan.of_type("aws:globalaccelerator/endpointGroup:EndpointGroup")
    assert sorted(g.get("endpointGroupRegion") for g in groups) == ["us-east-1", "us-west-2"]
    for group in groups:
        cluster = f"aws-{group.get('endpointGroupRegion')}"
        (lb,) = mine(plan, LB, cluster)
        (endpoint,) = group.get("endpointConfigurations")
        assert deps(group, "endpointConfigurations") == {lb.urn} and is_unknown(endpoint["endpointId"])
        assert endpoint["clientIpPreservationEnabled"] is True
    (alias,) = [r for r in plan.of_type(RECORD) if r.get("name") == f"{spec.workloads.serving.name}.{spec.workloads.serving.domain}"]
    assert deps(alias, "aliases") == {accel.urn}
    # the GCP region cannot be an accelerator endpoint: its certificate covers only its own name
    (cert,) = mine(plan, GCP_CERT, "gcp-us-central1")
    assert cert.get("managed.domains") == [regional(spec, "gcp-us-central1")]


def test_gcp_global_lb_is_the_gcp_regions_only_front_end():
    platform = platform_config("prod")
    platform["workloads"]["serving"]["globalRouting"] = "gcp-global-lb"
    spec, plan = spec_of("prod", platform), workload_plan("prod", platform)
    serve = spec.workloads.serving
    # no Gateway (GKE would build a second global load balancer), no route, no regional address there
    assert {cluster_of(plan, g) for g in plan.of_type(GATEWAY)} == {"aws-us-east-1", "aws-us-west-2"}
    assert not in_cluster(plan, ROUTE, "gcp-us-central1")
    address = plan.one(ADDRESS)
    url_map = plan.one("gcp:compute/uRLMap:URLMap")
    backends = {b.urn: b for b in plan.of_type("gcp:compute/backendService:BackendService")}
    split = url_map.get("defaultRouteAction.weightedBackendServices")
    assert sorted(w["weight"] for w in split) == sorted([10 * (100 - serve.canary_weight), 10 * serve.canary_weight])
    assert deps(url_map, "defaultRouteAction") == set(backends)
    groups = {b["group"].rsplit("/", 1)[1] for be in backends.values() for b in be.get("backends")}
    svcs = [s for s in in_cluster(plan, "kubernetes:core/v1:Service", "gcp-us-central1")
            if s.get("metadata.namespace") == "serving"]
    negs = {s.get("metadata.annotations")["cloud.google.com/neg"].split('"name": "')[1].split('"')[0] for s in svcs}
    assert groups == negs and len(negs) == 2, "the backends are the stable and canary Services' NEGs"
    (glob,) = [r for r in plan.of_type(RECORD) if r.get("name") == f"{serve.name}.{serve.domain}"]
    assert glob.get("type") == "A" and deps(glob, "records") == {address.urn}


def test_without_a_domain_the_nlb_listens_on_plain_tcp_80():
    plan = workload_plan("dev")
    (listener,) = plan.of_type(LISTENER)
    assert (listener.get("protocol"), listener.get("port")) == ("TCP", 80) and not listener.get("certificateArn")
    assert not plan.of_type(CERT) and not plan.of_type(ZONE)
