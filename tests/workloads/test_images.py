"""The Dockerfiles install exactly the [workloads] pins of pyproject.toml, and the trainer's torchrun keeps 143."""
from __future__ import annotations

import re
import signal
import sys
import tomllib

from tests.conftest import shipped_plan
from tests.k8s.helpers import pod_templates
from tests.workloads.conftest import REPO, Run
from workloads.contract import RUN_AS_GID, RUN_AS_UID

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXTRAS = {re.split(r"[<>=\[ ]", r, maxsplit=1)[0].lower(): r.replace(" ", "")
          for extra in ("workloads", "gcs") for r in PYPROJECT["project"]["optional-dependencies"][extra]}
IMAGES = {"train": {"torch", "fsspec", "s3fs", "aiobotocore", "gcsfs", "prometheus-client", "numpy"},
          "serve": {"torch", "fsspec", "s3fs", "aiobotocore", "gcsfs", "fastapi", "uvicorn", "uvloop", "httptools",
                    "prometheus-client", "numpy"}}


def pins(dockerfile: str) -> dict[str, str]:
    found = re.findall(r'"?([a-z][a-z0-9_-]*(?:==|>=)[^\s"\\]+)"?', dockerfile)
    return {re.split(r"[<>=]", f, maxsplit=1)[0].lower(): f for f in found}


def test_image_pins_match_pyproject():
    for image, packages in IMAGES.items():
        text = (REPO / "workloads" / image / "Dockerfile").read_text()
        got = pins(text)
        for pkg in packages:
            assert got.get(pkg) == EXTRAS[pkg], f"{image}/Dockerfile pins {got.get(pkg)}, pyproject {EXTRAS[pkg]}"


def test_training_image_torchrun_is_the_exit_code_preserving_launcher():
    text = (REPO / "workloads" / "train" / "Dockerfile").read_text()
    assert "exec python -m workloads.train.launch" in text and "/usr/local/bin/torchrun" in text


def test_launcher_turns_sigterm_into_143_where_stock_torchrun_exits_1(tmp_path):
    worker = tmp_path / "sleepy.py"
    worker.write_text("import signal, sys, time\n"
                      "signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))\n"
                      "print('{\"event\": \"up\"}', flush=True)\ntime.sleep(120)\n")
    for launcher, expected in (("workloads.train.launch", 143), ("torch.distributed.run", 1)):
        run = Run([sys.executable, "-m", launcher, "--nproc-per-node=1", "--standalone", "--monitor-interval=0.1",
                   "--shutdown-timeout=10", str(worker)])
        run.wait_for(lambda e: e.get("event") == "up", timeout=60)
        run.proc.send_signal(signal.SIGTERM)  # to the launcher only, as the kubelet does to PID 1
        assert run.finish(60) == expected, run.output


def test_the_planned_pods_run_as_the_images_user():
    """The training Job and serving Deployments the program plans run as the contract's user, which the images
    declare (tests/test_contract.py checks the Dockerfiles)."""
    plan = shipped_plan("prod")
    kinds = set()
    for resource, template in pod_templates(plan):
        if resource.type in ("kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment"):
            security = template["securityContext"]
            assert (security["runAsUser"], security["runAsGroup"]) == (RUN_AS_UID, RUN_AS_GID), resource.urn
            assert security["runAsNonRoot"] is True
            kinds.add(resource.type)
    assert kinds == {"kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment"}
