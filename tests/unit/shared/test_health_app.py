"""The probe-only app (scheduler, dispatchers, webhooks) answers its probes exactly as the FastAPI
app of the API services does: same statuses, content types and bodies, same error shape."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette

from shared.health import Readiness, ReadinessSettings
from shared.health_app import create_health_app
from shared.http import create_http_app
from shared.http_limits import MAX_BODY_BYTES
from shared.metrics import expose_metrics
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


class DownProbe:
    name = "database"

    async def check(self) -> None:
        raise OSError("refused")


def fastapi_app() -> Starlette:
    return create_http_app(title="t", description="t")


async def answers(
    make: Callable[[], Starlette], ready: bool, probed: bool
) -> list[tuple[object, ...]]:
    """What a probe, a scraper and a lost client get from a fresh app in one state."""
    app = make()
    expose_metrics(app)
    app.state.ready = ready
    if probed:
        readiness = Readiness([DownProbe()], FrozenClock(), ReadinessSettings())
        await readiness.check_once()
        app.state.readiness = readiness
    found: list[tuple[object, ...]] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        for method, path, body in [
            ("GET", "/healthz", b""),
            ("GET", "/readyz", b""),
            ("GET", "/nowhere", b""),
            ("POST", "/healthz", b""),
            ("DELETE", "/readyz", b""),
            ("POST", "/readyz", b"x" * (MAX_BODY_BYTES + 1)),
        ]:
            reply = await http.request(method, path, content=body)
            found.append(
                (
                    method,
                    path,
                    reply.status_code,
                    reply.headers.get("content-type"),
                    reply.headers.get("allow"),
                    reply.content,
                )
            )
        scraped = await http.get("/metrics")
    found.append(("GET", "/metrics", scraped.status_code, scraped.headers["content-type"]))
    return found


@pytest.mark.parametrize(("ready", "probed"), [(False, False), (True, False), (True, True)])
async def test_probes_get_the_same_answers_as_from_the_api_services(
    ready: bool, probed: bool
) -> None:
    assert await answers(create_health_app, ready, probed) == await answers(
        fastapi_app, ready, probed
    )


async def test_readyz_says_what_is_down() -> None:
    [_, readyz, *_] = await answers(create_health_app, ready=True, probed=True)

    assert readyz[2:4] == (503, "application/json")
    assert isinstance(readyz[5], bytes)
    assert json.loads(readyz[5])["down"] == ["database"]
