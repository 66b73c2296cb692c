"""The deployer's path to every API server (``access.deployer``): endpoint settings, kubeconfigs, runner subnet.

Why each mode and what the deployer needs: docs/operations.md ("First deployment").
"""
