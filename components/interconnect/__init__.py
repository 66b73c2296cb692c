"""Private interconnect: TGW peering between AWS regions, HA VPN to GCP, optional dedicated links, private DNS.

Entry point: ``Interconnect(spec, address_plan(spec), computes)`` (``interconnect.py``); ``topology.links(spec)``
and ``topology.reachable_prefixes(spec, plan)`` are pure and usable without Pulumi.
"""
