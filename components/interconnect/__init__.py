"""Private interconnect: Transit Gateway peering between AWS regions, HA VPN to GCP, private endpoints."""
