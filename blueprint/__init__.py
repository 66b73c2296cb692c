"""Offline tooling for the GPU platform blueprint: the typed spec, the plan engine and the ``blueprint`` CLI."""
