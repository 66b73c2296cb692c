"""The Pulumi program: read the stack's typed spec, then declare the platform from it.

`pulumi up -s prod` runs this against real clouds; `blueprint plan --stack prod` runs the very same file
offline under Pulumi's mock runtime.
"""
import pulumi

from blueprint.spec import SpecError
from components.platform import build_platform, load_from_pulumi_config

try:
    spec = load_from_pulumi_config()
except SpecError as exc:  # a clear message, no traceback, and nothing declared
    raise pulumi.RunError(str(exc)) from None

build_platform(spec)
