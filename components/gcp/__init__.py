"""GCP compute: per-region provider, VPC subnet, GKE cluster, GPU and system node pools."""
