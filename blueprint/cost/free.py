"""Resource types that carry no charge of their own, each with the reason; anything else without a pricer is
reported as unpriced, never dropped."""
from __future__ import annotations

from blueprint.plan.model import PlannedResource

_EXACT = {
    # AWS networking and wiring
    "aws:ec2/vpc:Vpc": "VPCs carry no charge",
    "aws:ec2/subnet:Subnet": "subnets carry no charge",
    "aws:ec2/routeTable:RouteTable": "route tables carry no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "route table associations carry no charge",
    "aws:ec2/route:Route": "routes carry no charge",
    "aws:ec2/internetGateway:InternetGateway": "internet gateways carry no charge (egress is billed as transfer)",
    "aws:ec2/securityGroup:SecurityGroup": "security groups carry no charge",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups carry no charge",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "security group rules carry no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security group rules carry no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security group rules carry no charge",
    "aws:ec2/networkAcl:NetworkAcl": "network ACLs carry no charge",
    "aws:ec2/launchTemplate:LaunchTemplate": "priced through the node group that launches it",
    "aws:ec2/placementGroup:PlacementGroup": "placement groups carry no charge",
    "aws:ec2/flowLog:FlowLog": "billed as log ingestion at its destination log group",
    "aws:autoscaling/tag:Tag": "tags carry no charge",
    "aws:kms/alias:Alias": "aliases carry no charge",
    "aws:s3/bucketVersioning:BucketVersioning": "no charge; noncurrent versions are storage in the usage file",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
        "no charge; the classes objects move to are storage_gb per class in the usage file",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings carry no charge",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings carry no charge",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "no charge; KMS requests bill at the key",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket policies carry no charge",
    "aws:eks/addon:Addon": "EKS add-ons carry no charge; their pods run on priced nodes",
    "aws:eks/accessEntry:AccessEntry": "access entries carry no charge",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "access policy associations carry no charge",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "pod identity associations carry no charge",
    "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation": "no charge; S3 requests bill at the bucket",
    "aws:route53/record:Record": "records carry no charge; queries bill at the hosted zone",
    "aws:route53/zoneAssociation:ZoneAssociation": "associating a VPC with a zone carries no charge",
    "aws:route53/resolverRule:ResolverRule": "rules carry no charge; queries bill at the resolver endpoint",
    "aws:route53/resolverRuleAssociation:ResolverRuleAssociation": "rule associations carry no charge",
    "gcp:dns/recordSet:RecordSet": "records carry no charge; queries bill at the zone",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "billed per attachment, not per gateway",
    "aws:ec2transitgateway/routeTable:RouteTable": "route tables carry no charge",
    "aws:ec2transitgateway/route:Route": "routes carry no charge",
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": "associations carry no charge",
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": "propagations carry no charge",
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter":
        "the peering attachment is priced once, at the requester",
    "aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter": "the VPC attachment is priced",
    "aws:ec2/vpnGateway:VpnGateway": "virtual private gateways carry no charge; connections are priced",
    "aws:ec2/customerGateway:CustomerGateway": "customer gateways carry no charge",
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": "routes carry no charge",
    "aws:lb/listener:Listener": "priced at the load balancer",
    "aws:lb/targetGroup:TargetGroup": "priced at the load balancer",
    "aws:autoscaling/attachment:Attachment": "attaching a target group to an autoscaling group carries no charge",
    "aws:acm/certificate:Certificate": "public ACM certificates used by AWS load balancers carry no charge",
    "aws:acm/certificateValidation:CertificateValidation": "a wait for issuance, not a cloud resource",
    "aws:globalaccelerator/listener:Listener": "priced at the accelerator",
    "aws:globalaccelerator/endpointGroup:EndpointGroup": "priced at the accelerator",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policies carry no charge",
    # GCP networking and wiring
    "gcp:compute/network:Network": "VPC networks carry no charge",
    "gcp:compute/subnetwork:Subnetwork": "subnets carry no charge",
    "gcp:compute/firewall:Firewall": "firewall rules carry no charge",
    "gcp:compute/route:Route": "routes carry no charge",
    "gcp:compute/router:Router": "Cloud Routers carry no charge",
    "gcp:compute/routerInterface:RouterInterface": "router interfaces carry no charge",
    "gcp:compute/routerPeer:RouterPeer": "BGP peers carry no charge",
    "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig":
        "route exchange settings of a peering carry no charge (VPC Network Peering has no fee of its own)",
    "gcp:compute/haVpnGateway:HaVpnGateway": "HA VPN gateways carry no charge; tunnels are priced",
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": "external VPN gateway records carry no charge",
    "gcp:compute/backendService:BackendService": "priced at the forwarding rule",
    "gcp:compute/uRLMap:URLMap": "priced at the forwarding rule",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "priced at the forwarding rule",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "priced at the forwarding rule",
    "gcp:compute/healthCheck:HealthCheck": "health checks carry no charge",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "Google-managed certificates carry no charge",
    "gcp:compute/globalAddress:GlobalAddress": "in use by a forwarding rule, no separate charge",
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": "DNS authorizations carry no charge",
    "gcp:certificatemanager/certificateMap:CertificateMap": "certificate maps carry no charge",
    "gcp:certificatemanager/certificate:Certificate":
        "inside Certificate Manager's free tier (the first 100 certificates a project); billed per month beyond",
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry":
        "inside Certificate Manager's free tier (the first 100 map entries a project); billed per month beyond",
    "gcp:kms/keyRing:KeyRing": "key rings carry no charge; key versions are priced",
    "gcp:projects/service:Service": "enabling an API carries no charge",
    "gcp:projects/serviceIdentity:ServiceIdentity": "Google service agents carry no charge",
    "gcp:serviceaccount/account:Account": "service accounts carry no charge",
}
_MODULES = {"aws:iam": "IAM carries no charge", "gcp:serviceaccount": "service accounts carry no charge"}


def free_reason(r: PlannedResource) -> str | None:
    """Why this resource costs nothing by itself, or None when it should be priced."""
    if r.type in _EXACT:
        return _EXACT[r.type]
    if r.type.startswith("pulumi:providers:"):
        return "provider configuration"
    if r.type.startswith("kubernetes:"):
        if r.type == "kubernetes:core/v1:Service" and r.get("spec.type") == "LoadBalancer":
            return None  # the cloud load balancer it creates costs money and is not priced here
        return "Kubernetes object: its pods run on priced nodes"
    if r.type.split(":", 1)[0] in ("random", "tls", "command", "time"):
        return "no cloud resource"
    module = r.type.rsplit("/", 1)[0]
    if module in _MODULES:
        return _MODULES[module]
    kind = r.type.rsplit(":", 1)[-1]
    if any(k in kind for k in ("IAMMember", "IAMBinding", "IAMPolicy")):
        return "IAM carries no charge"
    return None
