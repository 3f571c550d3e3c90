"""Control routes for faults of the provider connection itself, which the per-request fault queue
cannot play: ``POST /emulator/goaway`` (a graceful GOAWAY on every open connection, answered with
how many) and ``POST /emulator/outage {"seconds": 60}`` (the provider port refuses connections for
that long and open connections are reset). Both act on the emulator's HTTP/2 provider port.
"""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.emulators.fast_routes import FastRoute, add_fast_routes
from services.emulators.h2_server import H2Server
from shared.health_app import error_body

MAX_OUTAGE_SECONDS = 3600.0


def add_connection_fault_routes(app: FastAPI, server: H2Server) -> None:
    """Serve the two routes on ``app`` (ahead of its own routes, which may catch every path)."""

    async def goaway(request: Request) -> Response:
        return JSONResponse({"connections": server.goaway()})

    async def outage(request: Request) -> Response:
        try:
            seconds = float(json.loads(await request.body())["seconds"])
        except (ValueError, TypeError, KeyError) as exc:
            return _invalid(f'an outage is {{"seconds": s}}: {exc}')
        if not 0 < seconds <= MAX_OUTAGE_SECONDS:
            return _invalid(f"seconds must be above 0 and at most {MAX_OUTAGE_SECONDS:g}")
        await server.outage(seconds)
        return Response(status_code=204)

    add_fast_routes(
        app,
        FastRoute("POST", re.compile("/emulator/goaway"), goaway),
        FastRoute("POST", re.compile("/emulator/outage"), outage),
    )


def _invalid(message: str) -> JSONResponse:
    return JSONResponse(error_body("invalid_fault", message), status_code=400)
