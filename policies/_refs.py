"""What each policy is called in the tools reviewers know: Checkov check ids (bridgecrewio/checkov's policy index) and CIS
items (numbered as aquasecurity/kube-bench cfg/eks-1.8.0, gke-1.9.0, gke-1.2.0, cis-1.12 and prowler's
compliance/aws/cis_5.0_aws.json, compliance/gcp/cis_4.0_gcp.json encode them)."""
from __future__ import annotations

from dataclasses import dataclass

from pulumi_policy import PolicyComplianceFramework

CHECKOV_INDEX = "https://www.checkov.io/5.Policy%20Index/all.html"


@dataclass(frozen=True)
class Cis:
    short: str  # "EKS"
    benchmark: str  # "CIS Amazon EKS Benchmark"
    version: str
    item: str

    def __str__(self) -> str:
        return f"CIS {self.short} {self.version} {self.item}"


def _benchmark(short: str, name: str, version: str):
    return lambda *items: tuple(Cis(short, name, version, i) for i in items)


EKS = _benchmark("EKS", "CIS Amazon Elastic Kubernetes Service (EKS) Benchmark", "1.8.0")
GKE = _benchmark("GKE", "CIS Google Kubernetes Engine (GKE) Benchmark", "1.9.0")
GKE_1_2 = _benchmark("GKE", "CIS Google Kubernetes Engine (GKE) Benchmark", "1.2.0")  # items later versions dropped
K8S = _benchmark("Kubernetes", "CIS Kubernetes Benchmark", "1.12")
AWS = _benchmark("AWS", "CIS Amazon Web Services Foundations Benchmark", "5.0.0")
GCP = _benchmark("GCP", "CIS Google Cloud Platform Foundation Benchmark", "4.0.0")


@dataclass(frozen=True)
class Equivalents:
    """The Checkov checks and CIS items a policy corresponds to (empty: none exists)."""

    checkov: tuple[str, ...] = ()
    cis: tuple[Cis, ...] = ()
    checkov_index: str = CHECKOV_INDEX

    def text(self) -> str:
        parts = [", ".join(self.checkov)] if self.checkov else []
        parts += [", ".join(str(c) for c in self.cis)] if self.cis else []
        return "; ".join(parts) if parts else "no Checkov or CIS equivalent"

    def tags(self) -> list[str]:
        return [*self.checkov, *(str(c) for c in self.cis)]

    def framework(self) -> PolicyComplianceFramework | None:
        """Pulumi's own compliance field: the first CIS item."""
        if not self.cis:
            return None
        first = self.cis[0]
        return PolicyComplianceFramework(name=first.benchmark, version=first.version, reference=first.item)
