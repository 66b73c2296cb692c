"""AWS compute: per-region provider, VPC, EKS cluster, GPU and system node pools, add-ons."""
