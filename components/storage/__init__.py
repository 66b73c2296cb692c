"""Tiered storage per region: hot parallel file system, warm and cold object storage."""
