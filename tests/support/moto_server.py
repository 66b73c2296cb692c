"""A real moto server on 127.0.0.1 for the tests that check declared AWS settings through boto3."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

import boto3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server(monkeypatch) -> Iterator[str]:
    """Start ThreadedMotoServer on a free loopback port; yield its endpoint; stop it afterwards."""
    from moto.server import ThreadedMotoServer

    for var, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(var, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(service: str, endpoint: str, region: str):
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


SPECIAL = {"id": "ID", "sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}


def to_api(value):
    """Plan inputs (camelCase, numbers as floats) to the S3 API's shape (PascalCase, integers)."""
    if isinstance(value, dict):
        return {SPECIAL.get(k, k[:1].upper() + k[1:]): to_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_api(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
