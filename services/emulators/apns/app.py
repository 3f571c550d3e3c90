"""The APNs emulator's HTTP surface: ``POST /3/device/{token}`` and the inspection routes.

``services.emulators.serving`` serves it over TLS + HTTP/2 (the provider API) and plain HTTP
(inspection and health). Replies carry the request's ``apns-id`` (or a new one), as APNs does.
"""

import asyncio
import hashlib
import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.emulators.apns.auth import ProviderTokenChecker
from services.emulators.apns.errors import ApnsReject
from services.emulators.apns.keys import load_trusted_keys
from services.emulators.apns.rules import check
from services.emulators.apns.settings import ApnsEmulatorSettings
from services.emulators.apns.state import ApnsEmulatorState, Attempt, Recorded
from services.emulators.fast_routes import FastRoute, add_fast_routes
from services.emulators.faults import FaultSpecError, parse_fault
from services.emulators.h2_server import CONNECTION_EXTENSION
from services.emulators.load import add_load_routes
from shared.clock import Clock, SystemClock
from shared.http import ApiError, create_http_app
from shared.logs import token_ref

log = logging.getLogger(__name__)

DEVICE_PATH = re.compile(r"/3/device/(?P<token>[^/]+)")

FAULT_REASONS = {
    410: "Unregistered",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


def create_app(settings: ApnsEmulatorSettings, clock: Clock | None = None) -> FastAPI:
    """The emulator as an ASGI app trusting the configured signing keys."""
    clock = clock or SystemClock()
    keys = load_trusted_keys(settings.apns_emulator_auth_keys, settings.apns_emulator_team_id)
    checker = ProviderTokenChecker(keys, clock)
    state = ApnsEmulatorState(settings.apns_emulator_max_messages)
    load = settings.load_report()
    certificates = settings.apns_emulator_client_ca is not None
    app = create_http_app(
        title="Herald APNs emulator",
        description="Apple's HTTP/2 provider API for local stacks and tests.",
    )
    app.state.apns = state
    app.state.checker = checker
    add_load_routes(app, load)

    async def send(request: Request, token: str) -> Response:
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4())
        arrived = time.time()
        now = clock.now()
        try:
            auth = _authenticate(checker, request, certificates)
            fault = state.faults.take(clock.now())
            if fault is not None:
                await asyncio.sleep(fault.delay_seconds)
                if fault.status:
                    extra = {"retry-after": fault.retry_after} if fault.retry_after else None
                    stamp = int(now.timestamp() * 1000) if fault.status == 410 else None
                    raise ApnsReject(
                        fault.status, FAULT_REASONS[fault.status], timestamp=stamp, headers=extra
                    )
            headers = [(k.decode().lower(), v.decode()) for k, v in request.headers.raw]
            checked = check(headers, token, await request.body(), settings.apns_emulator_topics)
            if token.lower() in state.unregistered:
                since = state.unregistered[token.lower()]
                raise ApnsReject(410, "Unregistered", timestamp=int(since.timestamp() * 1000))
        except ApnsReject as reject:
            state.attempts.append(Attempt(now, token, reject.status, reject.reason))
            load.note(arrived, None, reject.status)
            log.info("refused %s for %s: %s", apns_id, token_ref(token), reject)
            await load.wait()
            return JSONResponse(
                reject.body(),
                status_code=reject.status,
                headers={"apns-id": apns_id, **reject.headers},
            )
        state.attempts.append(Attempt(now, token, 200, None))
        signed_by = _fingerprint(request.headers.get("authorization")) if auth == "token" else None
        state.messages.append(Recorded(apns_id, token, now, auth, checked, signed_by))
        load.note(arrived, _notification_id(checked.payload), 200)
        log.info("accepted %s for %s", apns_id, token_ref(token))
        await load.wait()
        return Response(status_code=200, headers={"apns-id": apns_id})

    add_fast_routes(app, FastRoute("POST", DEVICE_PATH, send))

    @app.api_route("/3/device/{token}", methods=["GET", "PUT", "DELETE"], tags=["apns"])
    async def wrong_method(token: str) -> JSONResponse:
        return JSONResponse({"reason": "MethodNotAllowed"}, status_code=405)

    @app.get("/emulator/messages", tags=["emulator"])
    async def messages(token: str | None = None) -> dict[str, Any]:
        return {"messages": state.listing(token)}

    @app.get("/emulator/requests", tags=["emulator"])
    async def attempts(token: str | None = None) -> dict[str, Any]:
        return {"requests": state.attempt_listing(token)}

    @app.delete("/emulator/messages", tags=["emulator"], status_code=204)
    async def clear() -> Response:
        state.messages.clear()
        state.attempts.clear()
        return Response(status_code=204)

    @app.post("/emulator/tokens/{token}/unregister", tags=["emulator"], status_code=204)
    async def unregister(token: str) -> Response:
        state.unregistered[token.lower()] = clock.now()
        return Response(status_code=204)

    @app.post("/emulator/faults", tags=["emulator"], status_code=204)
    async def faults(request: Request) -> Response:
        try:
            state.faults.pending = parse_fault(
                await request.body(), frozenset(FAULT_REASONS), clock.now()
            )
        except FaultSpecError as error:
            raise ApiError(400, "invalid_fault", str(error)) from None
        return Response(status_code=204)

    @app.post("/{path:path}", include_in_schema=False)
    async def bad_path(path: str) -> JSONResponse:
        return JSONResponse({"reason": "BadPath"}, status_code=404)

    app.state.ready = True
    return app


def _notification_id(payload: dict[str, Any]) -> str | None:
    value = payload.get("herald_notification_id")
    return value if isinstance(value, str) else None


def _fingerprint(authorization: str | None) -> str | None:
    """A short hash of the provider token a request carried: a listing shows which requests
    shared one (a restarted sender, other replicas) without holding the token."""
    if authorization is None:
        return None
    return hashlib.sha256(authorization.encode()).hexdigest()[:16]


def _authenticate(checker: ProviderTokenChecker, request: Request, certificates: bool) -> str:
    """``token`` or ``certificate``: how the request proved who sent it."""
    authorization = request.headers.get("authorization")
    if authorization is None and certificates and request.url.scheme == "https":
        return "certificate"
    connection = request.scope.get("extensions", {}).get(CONNECTION_EXTENSION)
    checker.check(authorization, connection or request.scope.get("client"))
    return "token"
