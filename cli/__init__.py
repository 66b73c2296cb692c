"""The ``blueprint`` command line (``python -m cli``): plan, policy, cost, review, render and deployer on top of the
spec, plan, cost, components and policy layers (docs/architecture.md)."""
