"""The drain's budget covers uvicorn's own graceful shutdown too: after a drain that used the whole timeout,
uvicorn does not wait a second full timeout (the pod would overrun its grace period and be SIGKILLed)."""
from __future__ import annotations

import asyncio

import httpx
import pytest
import uvicorn

from workloads.serve.__main__ import draining_server
from workloads.serve.app import Settings, create_app


@pytest.mark.parametrize("stuck", [False, True])
def test_drain_then_exit_leaves_uvicorn_only_the_rest_of_the_budget(stuck):
    budget = 2.0
    app = create_app(Settings(model_uri="unused", drain_timeout_s=budget))
    config = uvicorn.Config(app, timeout_graceful_shutdown=int(budget), lifespan="off")
    server = draining_server(config, app, budget)
    st = app.state.serve

    async def scenario():
        if stuck:  # an accepted request that never finishes
            st.inflight = 1
            st.idle.clear()
        await server._drain_then_exit()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            ready = await c.get("/readyz")
            refused = await c.post("/v1/predict", json={"text": "hi"})
        return ready, refused

    ready, refused = asyncio.run(scenario())
    assert server.should_exit and not server.force_exit
    assert ready.status_code == 503 and ready.json()["reason"] == "draining"
    assert refused.status_code == 503 and refused.json() == {"error": "draining"}
    if stuck:
        assert config.timeout_graceful_shutdown == pytest.approx(1.0)  # the floor, not another `budget`
    else:
        assert 1.0 <= config.timeout_graceful_shutdown <= budget
