"""Which reviewed system component (``policy.systemComponents``) a resource is: matched by kind, namespace and name AND
by where its code comes from (every image from its repositories; a release's chart and repository), so a look-alike
name gets nothing."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from blueprint.spec.model import SystemComponent
from policies._pods import HELM_TYPES, containers, image_repository, kind_of, metadata, pod_of
from policies._props import as_mapping, is_unknown, peek


def _release_chart(props: Mapping) -> str | None:
    chart = peek(props, "chart")
    if not isinstance(chart, str) or is_unknown(chart):
        return None
    if chart.startswith("oci://"):
        return chart
    repo = peek(as_mapping(peek(props, "repositoryOpts")), "repo")
    return f"{repo.rstrip('/')}/{chart}" if isinstance(repo, str) and not is_unknown(repo) else None


def _known(value) -> str | None:
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def _identity(resource_type: str, props: Mapping) -> tuple[str, str | None, str | None]:
    if resource_type in HELM_TYPES:
        return "Release", _known(peek(props, "namespace")), _known(peek(props, "name"))
    return kind_of(resource_type), _known(metadata(props, "namespace")), _known(metadata(props, "name"))


def _source_matches(c: SystemComponent, resource_type: str, props: Mapping) -> bool:
    if c.kind == "Release":
        return resource_type in HELM_TYPES and c.chart is not None and _release_chart(props) == c.chart
    images = [peek(x, "image") for x in containers(pod_of(resource_type, props))]
    return bool(images) and all(isinstance(i, str) and not is_unknown(i) and image_repository(i) in c.images
                                for i in images)


def reviewed_component(policy: str, resource_type: str, props: Mapping,
                       components: Sequence[SystemComponent]) -> SystemComponent | None:
    """The reviewed component this resource is, if it may break ``policy``; else None."""
    kind, namespace, name = _identity(resource_type, props)
    for c in components:
        if policy in c.policies and (c.kind, c.namespace, c.name) == (kind, namespace, name) \
                and _source_matches(c, resource_type, props):
            return c
    return None
