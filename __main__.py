"""The Pulumi program: read the stack's typed spec, then declare the platform from it.
Notes: docs/architecture.md, "Program"."""
import pulumi

from blueprint.spec import SpecError
from components.platform import build_platform, load_from_pulumi_config

try:
    spec = load_from_pulumi_config()
except SpecError as exc:  # a clear message, no traceback, and nothing declared
    raise pulumi.RunError(str(exc)) from None

build_platform(spec)
