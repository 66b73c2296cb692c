"""Tags/labels on every taggable resource, and placement inside the stack's data-residency class."""
from __future__ import annotations

import importlib
import inspect
from functools import lru_cache

from pulumi_policy import Severity

from policies._facts import EKS_NODE_GROUP, GKE_NODE_POOL, cloud_of, region_of, residency_of
from policies._framework import REQUIRED_TAGS, as_mapping, at, peek, resource_policy

# Resources whose place is the data or the GPUs: what residency rules are about.
PLACED_TYPES = (
    "aws:s3/bucket:Bucket", "aws:fsx/lustreFileSystem:LustreFileSystem", "aws:ebs/volume:Volume",
    "aws:eks/cluster:Cluster", EKS_NODE_GROUP, "gcp:storage/bucket:Bucket", "gcp:filestore/instance:Instance",
    "gcp:container/cluster:Cluster", GKE_NODE_POOL,
)


@lru_cache(maxsize=None)
def tag_field(resource_type: str) -> str | None:
    """The input that holds tags (AWS ``tags``) or labels (GCP ``labels``/``resourceLabels``), read off the SDK."""
    if resource_type == GKE_NODE_POOL:
        return "nodeConfig.resourceLabels"
    try:
        pkg, module, name = resource_type.split(":")
    except ValueError:
        return None
    if pkg not in ("aws", "gcp"):
        return None
    mod = module.split("/")[0]
    try:
        sdk = importlib.import_module(f"pulumi_{pkg}" if mod == "index" else f"pulumi_{pkg}.{mod}")
    except ImportError:
        return None
    cls = getattr(sdk, name, None)
    init = getattr(cls, "_internal_init", None)
    if init is None:
        return None
    params = inspect.signature(init).parameters
    for snake, camel in (("tags", "tags"), ("labels", "labels"), ("resource_labels", "resourceLabels")):
        if snake in params:
            return camel
    return None


def _defaults(args, cloud: str) -> dict:
    if args.provider is None:
        return {}
    if cloud == "aws":
        return dict(as_mapping(peek(as_mapping(peek(args.provider.props, "defaultTags")), "tags")))
    return dict(as_mapping(peek(args.provider.props, "defaultLabels")))


@resource_policy(
    "required-tags",
    description="Every taggable resource carries owner, cost-center and environment tags (GCP: labels) with the "
                "stack's values.",
    types=(), severity=Severity.MEDIUM, concern="tags",
    remediation="Tag through spec.aws_tags()/gcp_labels() or the provider's defaultTags/defaultLabels.",
    url="https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/tagging-best-practices.html",
    checkov=("CKV_GCP_21",))
def required_tags(args, report, settings):
    field = tag_field(args.resource_type)
    if field is None:
        return
    cloud = cloud_of(args.resource_type)
    tags = {**_defaults(args, cloud), **dict(as_mapping(at(args.props, field, {})))}
    expected = settings.aws_tags if cloud == "aws" else settings.gcp_labels
    missing = [k for k in REQUIRED_TAGS if not tags.get(k)]
    wrong = [f"{k}={tags[k]} (expected {expected[k]})" for k in REQUIRED_TAGS
             if tags.get(k) and expected.get(k) and tags[k] != expected[k]]
    if missing:
        report(f"missing {'tags' if cloud == 'aws' else 'labels'}: {', '.join(missing)}")
    if wrong:
        report(f"wrong values: {', '.join(wrong)}")


@resource_policy(
    "data-residency",
    description="Storage, clusters and GPU pools stay inside the stack's data-residency class (dataResidency).",
    types=PLACED_TYPES, severity=Severity.CRITICAL, concern="residency",
    remediation="Move the region to one of the residency class's regions (blueprint/catalog), or change "
                "dataResidency through review.",
    url="https://cloud.google.com/assured-workloads/docs/data-residency")
def data_residency(args, report, settings):
    if settings.data_residency == "global":
        return
    cloud = cloud_of(args.resource_type)
    region = region_of(args.resource_type, args.props,
                       args.provider.props if args.provider is not None else None)
    locations = [region] if region else []
    locations += [str(x) for x in at(args.props, "customPlacementConfig.dataLocations", []) or []]
    if not locations:
        report(f"cannot tell where this resource is placed; a {settings.data_residency} stack must say")
    for loc in locations:
        cls = residency_of(cloud, loc)
        if cls != settings.data_residency:
            report(f"placed in {loc} ({cls or 'unknown residency'}); this stack's data must stay in "
                   f"{settings.data_residency}")


POLICIES = [required_tags, data_residency]
