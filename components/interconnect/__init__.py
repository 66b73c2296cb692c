"""Private interconnect: TGW peering between AWS regions, HA VPN to GCP, optional dedicated links, private DNS.
Notes: docs/architecture.md, "Interconnect"."""
