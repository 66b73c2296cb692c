"""The Dockerfiles install exactly the [workloads] pins of pyproject.toml, and the trainer's torchrun keeps 143."""
from __future__ import annotations

import re
import signal
import sys
import tomllib

from tests.workloads.conftest import REPO, Run

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


def test_images_run_as_the_user_the_pods_require():
    """The k8s components run both pods as 65532 (runAsNonRoot); the images declare that user."""
    for image, component in (("train", "training"), ("serve", "serving")):
        text = (REPO / "workloads" / image / "Dockerfile").read_text()
        pod = (REPO / "components" / "k8s" / f"{component}.py").read_text()
        assert '"runAsUser": 65532' in pod and "USER 65532:65532" in text and "useradd --uid 65532" in text, image
