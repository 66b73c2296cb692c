"""The inference routes' ASGI front: FastAPI's validation errors and schema, without FastAPI's per-request cost."""
from __future__ import annotations

import asyncio

import httpx

from workloads.serve.app import MAX_BODY, Settings, create_app


def call(method: str, path: str, **kw) -> httpx.Response:
    app = create_app(Settings(model_uri="unused"))  # no lifespan: never ready

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.request(method, path, **kw)

    return asyncio.run(go())


def test_bad_bodies_get_fastapis_422_and_an_oversized_one_413():
    r = call("POST", "/v1/generate", json={"prompt": "", "max_new_tokens": 0})
    assert r.status_code == 422
    assert [(d["loc"], d["type"]) for d in r.json()["detail"]] == [
        (["body", "prompt"], "string_too_short"), (["body", "max_new_tokens"], "greater_than_equal")]
    assert call("POST", "/v1/predict", content=b"{not json").json()["detail"][0]["type"] == "json_invalid"
    assert call("POST", "/v1/predict", json={"text": "x", "top_k": 1000}).status_code == 422
    assert call("POST", "/v1/generate", content=b"x" * (MAX_BODY + 1)).status_code == 413


def test_valid_requests_reach_admission_and_other_methods_fastapi():
    r = call("POST", "/v1/generate", json={"prompt": "hi"})
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (503, {"error": "not_ready"}, "1")
    assert r.headers["content-type"] == "application/json"
    assert call("GET", "/v1/generate").status_code == 405
    paths = call("GET", "/openapi.json").json()["paths"]
    assert {"/v1/generate", "/v1/predict", "/readyz", "/livez", "/metrics"} <= set(paths)
    body = paths["/v1/generate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/GenerateIn"}
