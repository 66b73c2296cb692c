"""Checkpoints and the exported artifact on s3:// (s3fs against a moto server on 127.0.0.1); truncation is caught."""
from __future__ import annotations

import boto3
import torch

from tests.support.moto_server import moto_server
from tests.workloads.conftest import env, torchrun, train_args
from workloads.storage import load_model
from workloads.train.checkpoint import MARKER, complete_checkpoints


def test_s3_checkpoints_resume_skips_a_truncated_one(monkeypatch):
    with moto_server(monkeypatch) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # what botocore (and so s3fs) reads in the pods too
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        for b in ("ckpt-bucket", "model-bucket"):
            s3.create_bucket(Bucket=b)
        ckpt, model = "s3://ckpt-bucket/runs/tiny", "s3://model-bucket/tiny"
        args = train_args(ckpt, model, 30, 10, "--num-workers", "0", "--keep-checkpoints", "5")
        run = torchrun(args, environ=env())
        assert run.finish() == 0, run.output
        assert [c.step for c in complete_checkpoints(ckpt)] == [30, 20, 10]
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="ckpt-bucket", Prefix="runs/tiny/step-000000030/")
                ["Contents"]}
        assert {f"runs/tiny/step-000000030/{n}" for n in (MARKER, ".metadata", "__0_0.distcp", "__1_0.distcp")} \
            <= keys
        first, meta = load_model(model)
        assert meta["step"] == 30

        # damage the newest checkpoint after its commit: rank 1's shard loses its second half
        key = "runs/tiny/step-000000030/__1_0.distcp"
        body = s3.get_object(Bucket="ckpt-bucket", Key=key)["Body"].read()
        s3.put_object(Bucket="ckpt-bucket", Key=key, Body=body[: len(body) // 2])
        assert [c.step for c in complete_checkpoints(ckpt)] == [20, 10]

        resumed = torchrun(args, environ=env())
        assert resumed.finish() == 0, resumed.output
        assert resumed.named("resumed")[0]["step"] == 20
        assert "truncated" in resumed.output  # the skip is logged with its reason
        again, _ = load_model(model)
        for k, v in first.state_dict().items():  # steps 21-30 replayed exactly
            assert torch.equal(v, again.state_dict()[k]), k
