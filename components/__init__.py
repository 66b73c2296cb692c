"""Pulumi ComponentResources, one folder per concern. ``platform.build_platform`` wires them from the spec."""
