"""One module per ``blueprint`` sub-command; each exposes ``register(subparsers)`` and a ``run(args)``."""
