"""Least-privilege identities for the training and serving service accounts. Notes: docs/architecture.md, "Storage"."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from blueprint.spec import Cloud, PlatformSpec, Region
from blueprint.spec.names import (
    CHECKPOINTS, DATASETS, GKE_WI_ANNOTATION, IRSA_ANNOTATION, MODELS, SERVING_NAMESPACE, TRAINING_NAMESPACE,
    bucket_name, s3_arn,
)
from components.aws.iam import irsa_role
from components.compute import RegionalCompute, after

READ = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE = ["s3:PutObject", "s3:AbortMultipartUpload"]


def training_s3_policy(spec: PlatformSpec, storage_region: Region, workload: str) -> dict:
    datasets, ckpt, models = (bucket_name(spec, storage_region, c) for c in (DATASETS, CHECKPOINTS, MODELS))
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListOwnData", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": [s3_arn(datasets), s3_arn(ckpt), s3_arn(models)]},
        {"Sid": "ReadDatasets", "Effect": "Allow", "Action": READ, "Resource": [s3_arn(datasets, "*")]},
        {"Sid": "OwnCheckpoints", "Effect": "Allow", "Action": READ + WRITE + ["s3:DeleteObject"],
         "Resource": [s3_arn(ckpt, f"{workload}/*")]},
        {"Sid": "ExportModels", "Effect": "Allow", "Action": WRITE, "Resource": [s3_arn(models, f"{workload}/*")]},
    ]}


def serving_s3_policy(spec: PlatformSpec, region: Region) -> dict:
    models = bucket_name(spec, region, MODELS)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListModels", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": [s3_arn(models)]},
        {"Sid": "ReadModels", "Effect": "Allow", "Action": READ, "Resource": [s3_arn(models, "*")]},
    ]}


def kms_policy(key_arn: pulumi.Input[str], write: bool) -> pulumi.Output[str]:
    actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:GenerateDataKey", "kms:Encrypt"] if write else [])
    return pulumi.Output.from_input(key_arn).apply(lambda arn: json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": [arn]}]}))


def prefix_condition(bucket: str, prefix: str) -> str:
    """An IAM condition for objects under ``prefix`` (ending in "/"), and for listing them: storage.objects.list
    is checked against the bucket, not an object, so listing is allowed on the bucket when the request's list
    prefix is inside ``prefix`` (the ``objectListPrefix`` attribute). Without it training cannot find its
    checkpoints to resume."""
    return (f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}") || '
            f'(resource.type == "storage.googleapis.com/Bucket" && resource.name == "projects/_/buckets/{bucket}" && '
            f'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("{prefix}"))')


class WorkloadIdentity(pulumi.ComponentResource):
    """``aiplatform:storage:WorkloadIdentity``: one workload's cloud identity in one region.

    ``annotation`` is what the Kubernetes service account carries: the IRSA role ARN or the GSA email.
    """

    annotation: tuple[str, pulumi.Output[str]]

    def __init__(self, spec: PlatformSpec, compute: RegionalCompute, *, workload: str, training: bool,
                 storage_region: Region, storage_key: pulumi.Input[str],
                 buckets: dict[str, pulumi.Resource] | None = None, opts: pulumi.ResourceOptions | None = None):
        """``buckets``: the storage region's buckets by data class. A GCS grant names its bucket through the
        bucket resource, so it waits for it: the provider reads the bucket's IAM policy first, a 404 before the
        bucket exists (an IAM policy on AWS may name an ARN that does not exist yet)."""
        name = f"{compute.child_name}-{workload}"
        super().__init__("aiplatform:storage:WorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=compute.cloud_provider)
        namespace = TRAINING_NAMESPACE if training else SERVING_NAMESPACE
        if compute.region.cloud is Cloud.aws:
            role = irsa_role(name, spec, compute.oidc_provider_arn, compute.oidc_issuer, namespace, workload, child)
            s3 = training_s3_policy(spec, storage_region, workload) if training else serving_s3_policy(spec, storage_region)
            policies = [aws.iam.RolePolicy(f"{name}-s3", role=role.id, policy=json.dumps(s3), opts=child),
                        aws.iam.RolePolicy(f"{name}-kms", role=role.id, policy=kms_policy(storage_key, training),
                                           opts=child)]
            # the pod's service account names the role once its policies are attached
            self.annotation = (IRSA_ANNOTATION, after(role.arn, policies))
        else:
            account = gcp.serviceaccount.Account(name, account_id=f"{workload}-{compute.region.region}"[:30].rstrip("-"),
                                                 display_name=f"{workload} in {compute.region.key}", opts=child)
            grants: list[pulumi.Resource] = []
            assert buckets is not None, "a GCP identity is granted on the storage region's bucket resources"
            for data_class, role, prefix in self._gcs_grants(training, workload):
                bucket = bucket_name(spec, storage_region, data_class)
                condition = None if prefix is None else {"title": f"only {prefix}",
                                                         "expression": prefix_condition(bucket, prefix)}
                grants += [gcp.storage.BucketIAMMember(f"{name}-{data_class}-{role.split('.')[-1]}",
                                            bucket=buckets[data_class].name, role=role,  # type: ignore[attr-defined]
                                            member=account.member, condition=condition, opts=child)]
            grants.append(gcp.serviceaccount.IAMMember(
                f"{name}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
                member=pulumi.Output.concat("serviceAccount:", compute.workload_identity_pool,
                                            f"[{namespace}/{workload}]"),
                opts=child))
            # the pod's service account names the identity once it may act as it and reach its buckets
            self.annotation = (GKE_WI_ANNOTATION, after(account.email, grants))
        self.register_outputs({"identity": self.annotation[1]})

    @staticmethod
    def _gcs_grants(training: bool, workload: str) -> list[tuple[str, str, str | None]]:
        if not training:
            return [(MODELS, "roles/storage.objectViewer", None)]
        return [(DATASETS, "roles/storage.objectViewer", None),
                (CHECKPOINTS, "roles/storage.objectUser", f"{workload}/"),
                (MODELS, "roles/storage.objectCreator", f"{workload}/")]
