"""Identity guardrails: no administrator or wildcard IAM grants, trust policies that name who may assume a role, no
long-lived keys, and no resource policy or GCP IAM grant that lets anyone in (KMS keys, registries, projects)."""
from __future__ import annotations

import re

from pulumi_policy import Severity

from policies._documents import (
    PUBLIC_MEMBERS, actions, allows, condition_keys, iam_members, listed, principals, public_statement, resources,
    statements,
)
from policies._framework import items, peek, resource_policy
from policies._refs import AWS, GCP

IDENTITY_DOCUMENTS = {  # type -> inputs that hold an identity policy document
    "aws:iam/policy:Policy": ("policy",), "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",), "aws:iam/groupPolicy:GroupPolicy": ("policy",),
}
ROLE = "aws:iam/role:Role"
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/userPolicyAttachment:UserPolicyAttachment",
               "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment")
ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess",
                  "arn:aws:iam::aws:policy/PowerUserAccess")
# Actions that let a principal grant itself more (Checkov CKV_AWS_286's list, abridged to the IAM/STS core).
ESCALATION = {a.lower() for a in (
    "iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy",
    "iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup", "sts:AssumeRole")}
# Reads that hand out data or secrets (Checkov CKV_AWS_288's data-exfiltration list, abridged).
EXFILTRATION = {a.lower() for a in (
    "s3:GetObject", "s3:GetObjectVersion", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue", "kms:Decrypt")}
KEYS = ("aws:iam/accessKey:AccessKey", "gcp:serviceaccount/key:Key")
RESOURCE_POLICIES = {  # type -> input with a resource policy
    "aws:kms/key:Key": "policy", "aws:kms/keyPolicy:KeyPolicy": "policy", "aws:kms/replicaKey:ReplicaKey": "policy",
    "aws:kms/externalKey:ExternalKey": "policy", "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}
# GCP IAM resources of every service: `<service>/<thing>IAMMember|IAMBinding|IAMPolicy`. Storage's are judged by
# storage-no-public-access (a hard limit); these cover keys, projects, service accounts, registries, everything else.
GCP_IAM = re.compile(r"^gcp:(?!storage/)[^:]+:[A-Za-z0-9]*(IAM|Iam)(Member|Binding|Policy)$")
WEB_IDENTITY = "sts:assumerolewithwebidentity"


def _role_documents(p) -> list[tuple[str, object]]:
    return [(f"inlinePolicies[{i}]", peek(ip, "policy")) for i, ip in enumerate(items(peek(p, "inlinePolicies")))]


def _wildcard_findings(stmt) -> list[str]:
    if not allows(stmt):
        return []
    acts = [a.lower() for a in actions(stmt)]
    out = []
    if "*" in acts or "*:*" in acts:
        out.append("allows every action (Action: *): administrator access")
    if "NotAction" in stmt:
        out.append(f"allows everything except {', '.join(listed(stmt['NotAction']))} (NotAction with Allow)")
    if "iam:*" in acts:
        out.append("allows every IAM action (iam:*): it can grant itself anything")
    unconditioned = "*" in resources(stmt) and not condition_keys(stmt)
    wild = sorted({a for a in acts if "*" in a and a not in ("*", "*:*", "iam:*")})
    if unconditioned and wild:
        out.append(f"allows {', '.join(wild)} on every resource (Resource: *) without a condition")
    escalating = sorted(set(acts) & ESCALATION)
    if unconditioned and escalating:
        out.append(f"allows {', '.join(escalating)} on every resource: privilege escalation")
    reading = sorted(set(acts) & EXFILTRATION)
    if unconditioned and reading:
        out.append(f"allows {', '.join(reading)} on every resource: any bucket, parameter or secret can be read")
    return out


@resource_policy(
    "iam-no-wildcard-admin",
    description="IAM policies grant no administrator access: no Action '*', NotAction, iam:*, wildcard, "
                "privilege-escalation or data-reading actions on Resource '*' without a condition, and no "
                "AdministratorAccess, "
                "IAMFullAccess or PowerUserAccess attachment (policies, role/user/group policies, role inline and "
                "managed policies, attachments).",
    types=(*IDENTITY_DOCUMENTS, ROLE, *ATTACHMENTS), severity=Severity.CRITICAL, concern="identity",
    remediation="Name the actions and resource ARNs the workload needs (see components/aws/iam.py); keep '*' "
                "resources to actions without resource-level permissions (Describe*), with a condition where one "
                "applies.",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    checkov=("CKV_AWS_1", "CKV_AWS_49", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_355", "CKV_AWS_286", "CKV_AWS_288",
             "CKV_AWS_274", "CKV2_AWS_40", "CKV2_AWS_56"),
    cis=AWS("1.15"))
def iam_no_wildcard_admin(args, report, settings):
    p, t = args.props, args.resource_type
    if t in ATTACHMENTS or t == ROLE:
        arns = [peek(p, "policyArn")] + [str(a) for a in items(peek(p, "managedPolicyArns"))]
        for arn in arns:
            if arn in ADMIN_POLICIES:
                report(f"attaches {arn.rsplit('/', 1)[-1]}")
    docs = [(key, peek(p, key)) for key in IDENTITY_DOCUMENTS.get(t, ())]
    docs += _role_documents(p) if t == ROLE else []
    for where, doc in docs:
        for i, stmt in enumerate(statements(doc) or []):
            for finding in _wildcard_findings(stmt):
                report(f"{where} statement {i} {finding}")


@resource_policy(
    "iam-trust-restricted",
    description="Role trust policies name who may assume them: no Principal '*' or AWS '*' without an "
                "organisation or account condition, and web-identity (OIDC) trust only with a subject (sub) "
                "condition.",
    types=(ROLE,), severity=Severity.CRITICAL, concern="identity",
    remediation="Trust a named service, account or role ARN; for IRSA/GitHub OIDC add a StringEquals condition on "
                "<issuer>:sub (and :aud).",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html",
    checkov=("CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_358", "CKV_AWS_393"))
def iam_trust_restricted(args, report, settings):
    for i, stmt in enumerate(statements(peek(args.props, "assumeRolePolicy")) or []):
        if public_statement(stmt):
            report(f"assumeRolePolicy statement {i} lets any AWS principal assume the role (Principal *)")
        federated = [v for kind, v in principals(stmt) if kind == "Federated"]
        web = any(a.lower() == WEB_IDENTITY for a in actions(stmt))
        if allows(stmt) and federated and web and not any(k.endswith(":sub") for k in condition_keys(stmt)):
            report(f"assumeRolePolicy statement {i} trusts every identity of {federated[0]} (no :sub condition)")


@resource_policy(
    "iam-no-long-lived-keys",
    description="No long-lived credentials: no IAM user access keys and no user-managed GCP service account keys.",
    types=KEYS, severity=Severity.HIGH, concern="identity",
    remediation="Use roles: IRSA / EKS Pod Identity and GKE Workload Identity for pods, OIDC federation for CI, "
                "IAM Identity Center for people.",
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-workloads-use-roles",
    checkov=("CKV_AWS_273", "CKV2_GCP_3"), cis=(*AWS("1.13"), *GCP("1.4")))
def iam_no_long_lived_keys(args, report, settings):
    if args.resource_type.startswith("aws:"):
        report(f"access key for IAM user {peek(args.props, 'user') or '?'}: a long-lived secret that leaks and "
               "outlives its owner")
    else:
        report("user-managed service account key: a long-lived secret outside Google's rotation")


@resource_policy(
    "no-public-principals",
    description="No resource policy or IAM grant lets anyone in: KMS key policies (Key, KeyPolicy, replica and "
                "external keys) and ECR repository policies with Principal '*' and no narrowing condition, and GCP "
                "IAM members, bindings or policies of any service granting allUsers or allAuthenticatedUsers.",
    types=tuple(RESOURCE_POLICIES), matching=GCP_IAM, severity=Severity.CRITICAL, concern="identity", hard=True,
    remediation="Name principals of your account or organisation (or add an aws:PrincipalOrgID / kms:CallerAccount "
                "condition); grant GCP roles to groups and service accounts, never allUsers.",
    url="https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html",
    checkov=("CKV_AWS_33", "CKV_AWS_32", "CKV2_GCP_6", "CKV2_GCP_8", "CKV_GCP_112", "CKV_GCP_101", "CKV_GCP_113"),
    cis=GCP("1.9"))
def no_public_principals(args, report, settings):
    p, t = args.props, args.resource_type
    if t in RESOURCE_POLICIES:
        for i, stmt in enumerate(statements(peek(p, RESOURCE_POLICIES[t])) or []):
            if public_statement(stmt):
                report(f"policy statement {i} allows {', '.join(actions(stmt)) or 'actions'} to any principal "
                       "(Principal *) without an account or organisation condition")
        return
    members = [peek(p, "member")] + [str(m) for m in items(peek(p, "members"))] + iam_members(peek(p, "policyData"))
    public = [m for m in members if m in PUBLIC_MEMBERS]
    if public:
        report(f"grants {peek(p, 'role') or 'roles'} to {', '.join(public)}")




POLICIES = [iam_no_wildcard_admin, iam_trust_restricted, iam_no_long_lived_keys, no_public_principals]
