"""A workload asking for a GPU its pool does not have fails before anything is declared."""
from __future__ import annotations

import pytest

from blueprint.plan import run_plan
from blueprint.spec import SpecError
from tests.conftest import platform_config


def test_training_asking_for_a_gpu_no_pool_provides():
    platform = platform_config("prod")
    platform["workloads"]["training"]["accelerator"] = "h200"
    with pytest.raises(SpecError) as err:
        run_plan("prod", platform=platform)
    msg = str(err.value)
    assert "workloads.training.accelerator" in msg and "h200" in msg and "train-h100" in msg
    assert "no pool in aws/us-east-1 provides h200" in msg and "allowed values: h100, l4" in msg


def test_serving_accelerator_mismatch_names_the_pools_that_have_it():
    platform = platform_config("prod")
    platform["workloads"]["serving"]["accelerator"] = "h100"
    with pytest.raises(SpecError) as err:
        run_plan("prod", platform=platform)
    msg = str(err.value)
    assert "workloads.serving.accelerator" in msg and "train-h100" in msg


def test_mutable_image_tag_is_rejected():
    platform = platform_config("dev")
    platform["workloads"]["serving"]["image"] = "ghcr.io/aiplatform/serve:latest"
    with pytest.raises(SpecError, match=r"workloads.serving.image.*not immutable"):
        run_plan("dev", platform=platform)


def test_route53_routing_needs_a_domain():
    platform = platform_config("staging")
    del platform["workloads"]["serving"]["domain"]
    with pytest.raises(SpecError, match=r"workloads.serving.domain.*route53-latency"):
        run_plan("staging", platform=platform)
