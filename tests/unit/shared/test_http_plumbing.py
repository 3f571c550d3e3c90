"""Every HTTP API answers in one error shape and refuses oversize bodies before parsing them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel

from shared.http import create_http_app
from shared.http_limits import MAX_BODY_BYTES

pytestmark = pytest.mark.unit


class Echo(BaseModel):
    text: str


def client() -> httpx.AsyncClient:
    app = create_http_app(title="t", description="t")

    @app.post("/echo")
    async def echo(body: Echo) -> Echo:
        return body

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_body_over_the_limit_is_refused_with_413() -> None:
    async with client() as http:
        declared = await http.post("/echo", content=b"x" * (MAX_BODY_BYTES + 1))

    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "too_large"


async def test_a_streamed_body_over_the_limit_is_refused_too() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * (MAX_BODY_BYTES // 4)

    async with client() as http:
        streamed = await http.post("/echo", content=chunks())

    assert streamed.status_code == 413


async def test_small_bodies_pass_and_framework_errors_use_the_error_shape() -> None:
    async with client() as http:
        fine = await http.post("/echo", json={"text": "hi"})
        missing = await http.get("/nowhere")
        wrong_method = await http.get("/echo")
        not_json = await http.post(
            "/echo", content=b"{nope", headers={"content-type": "application/json"}
        )

    assert fine.json() == {"text": "hi"}
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert not_json.status_code in (400, 422)
    assert "error" in not_json.json()
