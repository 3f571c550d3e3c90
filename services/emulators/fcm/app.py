"""The emulator's HTTP surface: Google's token endpoint, FCM's send endpoint, inspection routes.

Routes read raw bodies and validate them here, so a bad request gets FCM's error shape rather than
the framework's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.emulators.fast_routes import FastRoute, add_fast_routes
from services.emulators.faults import Fault, FaultSpecError, parse_fault
from services.emulators.fcm.accounts import load_trusted_accounts, write_service_account
from services.emulators.fcm.errors import FcmApiError, invalid_argument
from services.emulators.fcm.oauth import AccessToken, GrantError, TokenIssuer
from services.emulators.fcm.schema import check_size, parse_send_request
from services.emulators.fcm.settings import FcmEmulatorSettings
from services.emulators.fcm.state import TOKEN_FORMAT, EmulatorState, Recorded
from services.emulators.load import LoadReport, add_load_routes
from shared.clock import Clock, SystemClock
from shared.http import create_http_app
from shared.logs import token_ref

log = logging.getLogger(__name__)

SEND_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/firebase.messaging",
        "https://www.googleapis.com/auth/cloud-platform",
    }
)
#: Faults it plays: 400 is a push FCM refuses for good (the dispatcher parks it), the rest "later".
FAULT_STATUSES = {
    400: "INVALID_ARGUMENT",
    429: "QUOTA_EXCEEDED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
SEND_PATH = re.compile(r"/v1/projects/(?P<project>[^/]+)/messages:send")


def create_app(settings: FcmEmulatorSettings, clock: Clock | None = None) -> FastAPI:
    """The emulator as an ASGI app, trusting the configured service accounts."""
    clock = clock or SystemClock()
    accounts = load_trusted_accounts(_account_files(settings))
    if not accounts:
        log.warning("no service account is trusted: every token request will be refused")
    issuer = TokenIssuer(
        accounts, clock, timedelta(seconds=settings.fcm_emulator_token_lifetime_seconds)
    )
    state = EmulatorState(settings.fcm_emulator_max_messages)
    load = settings.load_report()
    app = create_http_app(
        title="Herald FCM emulator",
        description="FCM HTTP v1 and Google's OAuth2 token endpoint, for local stacks and tests.",
    )

    add_load_routes(app, load)

    @app.exception_handler(FcmApiError)
    async def fcm_error(_: Request, exc: FcmApiError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(GrantError)
    async def grant_error(_: Request, exc: GrantError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.post("/token", tags=["oauth2"])
    async def token(request: Request) -> JSONResponse:
        form = urllib.parse.parse_qs((await request.body()).decode(errors="replace"))
        granted = issuer.grant({key: values[0] for key, values in form.items()})
        log.info("issued an access token to %s", granted.client_email)
        return JSONResponse(
            {
                "access_token": granted.value,
                "expires_in": settings.fcm_emulator_token_lifetime_seconds,
                "token_type": "Bearer",
            }
        )

    async def accept(request: Request, project: str) -> tuple[str, dict[str, Any]]:
        """The accepted message's name and body; raises FcmApiError as FCM would refuse it."""
        _authorize(issuer, request, project)
        fault = state.faults.take(clock.now())
        if fault is not None:
            await asyncio.sleep(fault.delay_seconds)
            if fault.status:
                raise _fault_error(fault)
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise invalid_argument(f"Invalid JSON payload received. {exc}") from None
        parsed = parse_send_request(body)
        raw_message: dict[str, Any] = body["message"]
        check_size(raw_message)
        token = parsed.message.token
        if token is not None:
            _check_token(state, token)
        now = clock.now()
        name = state.next_name(project, now)
        if not parsed.validate_only:
            state.record(Recorded(name=name, project=project, received_at=now, message=raw_message))
            log.info("accepted %s for %s", name, token_ref(token) if token else "a topic")
        return name, raw_message

    async def send(request: Request, project: str) -> Response:
        arrived = time.time()
        try:
            name, raw_message = await accept(request, project)
        except FcmApiError as exc:
            load.note(arrived, None, exc.code)
            await load.wait()
            return _error_response(exc)
        _note_success(load, arrived, raw_message)
        await load.wait()
        return JSONResponse({"name": name})

    add_fast_routes(app, FastRoute("POST", SEND_PATH, send))

    @app.get("/emulator/messages", tags=["emulator"])
    async def messages(token: str | None = None) -> dict[str, Any]:
        return {"messages": state.listing(token)}

    @app.delete("/emulator/messages", tags=["emulator"], status_code=204)
    async def clear_messages() -> Response:
        state.messages.clear()
        return Response(status_code=204)

    @app.post("/emulator/tokens/{token}/unregister", tags=["emulator"], status_code=204)
    async def unregister(token: str) -> Response:
        state.unregistered.add(token)
        return Response(status_code=204)

    @app.post("/emulator/faults", tags=["emulator"], status_code=204)
    async def faults(request: Request) -> Response:
        try:
            state.faults.pending = parse_fault(
                await request.body(), frozenset(FAULT_STATUSES), clock.now()
            )
        except FaultSpecError as error:
            raise FcmApiError(400, str(error)) from None
        return Response(status_code=204)

    app.state.ready = True
    return app


def _error_response(exc: FcmApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.code, headers=exc.headers)


def _note_success(load: LoadReport, arrived: float, message: dict[str, Any]) -> None:
    data = message.get("data")
    value = data.get("herald_notification_id") if isinstance(data, dict) else None
    load.note(arrived, value if isinstance(value, str) else None, 200)


def _account_files(settings: FcmEmulatorSettings) -> list[Path]:
    """The configured account files, plus a freshly generated one when asked for."""
    files = list(settings.fcm_emulator_service_accounts)
    target = settings.fcm_emulator_generate_account
    if target is not None:
        token_uri = f"http://{settings.http_host}:{settings.http_port}/token"
        write_service_account(
            target, project_id=settings.fcm_emulator_project_id, token_uri=token_uri
        )
        log.info("wrote a new service account for %s to %s", token_uri, target)
        files.append(target)
    return files


def _authorize(issuer: TokenIssuer, request: Request, project: str) -> AccessToken:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    granted = issuer.lookup(value.strip()) if scheme.lower() == "bearer" else None
    if granted is None:
        raise FcmApiError(
            401,
            "Request had invalid authentication credentials: a valid OAuth 2 access token is "
            "expected.",
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
    if not granted.scopes & SEND_SCOPES:
        raise FcmApiError(403, "Request had insufficient authentication scopes.")
    if granted.project_id != project:
        raise FcmApiError(
            403,
            f"Permission 'cloudmessaging.messages.create' denied on project {project} "
            f"for {granted.client_email} (or the project does not exist).",
        )
    return granted


def _check_token(state: EmulatorState, token: str) -> None:
    if not TOKEN_FORMAT.match(token):
        raise FcmApiError(
            400,
            "The registration token is not a valid FCM registration token",
            fcm_code="INVALID_ARGUMENT",
        )
    if token in state.unregistered:
        raise FcmApiError(404, "Requested entity was not found.", fcm_code="UNREGISTERED")


def _fault_error(fault: Fault) -> FcmApiError:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
    return FcmApiError(
        fault.status,
        f"The service is playing a {fault.status} the emulator was asked for.",
        fcm_code=FAULT_STATUSES[fault.status],
        headers=headers,
    )
