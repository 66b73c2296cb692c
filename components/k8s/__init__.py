"""Kubernetes workloads deployed onto the clusters with pulumi-kubernetes."""
