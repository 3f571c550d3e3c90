"""The Web Push emulator's HTTP surface: subscriptions, ``POST /push/{id}`` and inspection routes.

Push messages arrive over TLS + HTTP/2 (``services.emulators.serving``); subscriptions are made
and inspected over plain HTTP. A subscription's endpoint uses the TLS port, so it passes Herald's
https rule.
"""

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.emulators.fast_routes import FastRoute, add_fast_routes
from services.emulators.faults import FaultSpecError, parse_fault
from services.emulators.load import add_load_routes
from services.emulators.verified import VerifiedTokens
from services.emulators.webpush.checks import PushRefused, check_headers, check_vapid, decrypt
from services.emulators.webpush.settings import WebPushEmulatorSettings
from services.emulators.webpush.state import Attempt, Received, WebPushEmulatorState
from shared.clock import Clock, SystemClock
from shared.http import ApiError, create_http_app

log = logging.getLogger(__name__)

PUSH_PATH = re.compile(r"/push/(?P<subscription_id>[^/]+)")

FAULT_STATUSES = frozenset({404, 410, 429, 500, 503})
KEPT_HEADERS = ("ttl", "urgency", "topic", "content-encoding", "content-type")
MAX_FAMILY = 10_000_000


def create_app(settings: WebPushEmulatorSettings, clock: Clock | None = None) -> FastAPI:
    """The emulator as an ASGI app; endpoints it hands out point at its TLS port."""
    clock = clock or SystemClock()
    state = WebPushEmulatorState(settings.webpush_emulator_max_messages)
    load = settings.load_report()
    origin = f"https://127.0.0.1:{settings.webpush_emulator_tls_port}"
    app = create_http_app(
        title="Herald Web Push emulator",
        description="An RFC 8030 push service that decrypts and checks what it receives.",
    )
    app.state.webpush = state
    verified: VerifiedTokens[dict[str, Any]] = VerifiedTokens()
    add_load_routes(app, load)

    @app.post("/emulator/subscriptions", tags=["emulator"], status_code=201)
    async def subscribe(request: Request) -> dict[str, Any]:
        """A new PushSubscription, as ``pushManager.subscribe()`` gives a web page."""
        raw = await request.body()
        spec = json.loads(raw) if raw.strip() else {}
        server_key = spec.get("application_server_key") if isinstance(spec, dict) else None
        subscription = state.subscribe(server_key if isinstance(server_key, str) else None)
        return {
            "endpoint": f"{origin}/push/{subscription.id}",
            "expirationTime": None,
            "keys": {"p256dh": subscription.keys.p256dh, "auth": subscription.keys.auth},
        }

    @app.post("/emulator/subscription-families", tags=["emulator"], status_code=201)
    async def subscribe_family(request: Request) -> dict[str, Any]:
        """``count`` subscriptions sharing one key pair: endpoint ``{endpoint_prefix}{n}``."""
        try:
            count = int(json.loads(await request.body())["count"])
        except (ValueError, TypeError, KeyError) as exc:
            raise ApiError(400, "invalid_family", f'expected {{"count": n}}: {exc}') from None
        if not 1 <= count <= MAX_FAMILY:
            raise ApiError(400, "invalid_family", f"count must be between 1 and {MAX_FAMILY}")
        family = state.subscribe_family(count)
        return {
            "endpoint_prefix": f"{origin}/push/{family.id}-",
            "count": count,
            "keys": {"p256dh": family.keys.p256dh, "auth": family.keys.auth},
        }

    @app.post("/emulator/subscriptions/{subscription_id}/unsubscribe", tags=["emulator"])
    async def unsubscribe(subscription_id: str) -> Response:
        subscription = state.subscriptions.get(subscription_id)
        if subscription is None:
            raise ApiError(404, "not_found", "no such subscription")
        subscription.active = False
        return Response(status_code=204)

    async def push(request: Request, subscription_id: str) -> Response:
        arrived = time.time()
        now = clock.now()
        try:
            received = await _receive(subscription_id, request)
        except PushRefused as refused:
            state.attempts.append(Attempt(now, subscription_id, refused.status, refused.reason))
            load.note(arrived, None, refused.status)
            log.info("refused a message for %s: %s", subscription_id, refused)
            await load.wait()
            headers = {"retry-after": refused.retry_after} if refused.retry_after else None
            return JSONResponse(
                {"reason": refused.reason}, status_code=refused.status, headers=headers
            )
        state.attempts.append(Attempt(now, subscription_id, 201, None))
        state.messages.append(received)
        load.note(arrived, _notification_id(received.plaintext), 201)
        await load.wait()
        return Response(status_code=201, headers={"location": f"{origin}/m/{received.id}"})

    add_fast_routes(app, FastRoute("POST", PUSH_PATH, push))

    async def _receive(subscription_id: str, request: Request) -> Received:
        subscription = state.subscription(subscription_id)
        if subscription is None:
            raise PushRefused(404, "no such subscription")
        fault = state.faults.take(clock.now())
        if fault is not None:
            await asyncio.sleep(fault.delay_seconds)
            if fault.status:
                raise PushRefused(
                    fault.status,
                    f"the emulator plays a {fault.status} it was asked for",
                    retry_after=fault.retry_after,
                )
        if not subscription.active:
            raise PushRefused(410, "the subscription was removed")
        now = clock.now()
        vapid = check_vapid(request.headers.get("authorization"), origin, now.timestamp(), verified)
        bound = subscription.application_server_key
        if bound is not None and bound.rstrip("=") != vapid.public_key.rstrip("="):
            raise PushRefused(403, "the VAPID key is not the subscription's applicationServerKey")
        headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
        check_headers(headers)
        body = await request.body()
        plaintext = decrypt(body, subscription.keys)
        return Received(
            id=uuid.uuid4().hex,
            subscription_id=subscription_id,
            received_at=now,
            headers=headers,
            vapid_claims=vapid.claims,
            plaintext=plaintext.decode(errors="replace"),
            body=body,
        )

    @app.get("/emulator/messages", tags=["emulator"])
    async def messages(subscription: str | None = None) -> dict[str, Any]:
        return {"messages": state.listing(subscription)}

    @app.get("/emulator/requests", tags=["emulator"])
    async def attempts(subscription: str | None = None) -> dict[str, Any]:
        return {"requests": state.attempt_listing(subscription)}

    @app.delete("/emulator/messages", tags=["emulator"], status_code=204)
    async def clear() -> Response:
        state.messages.clear()
        state.attempts.clear()
        return Response(status_code=204)

    @app.post("/emulator/faults", tags=["emulator"], status_code=204)
    async def faults(request: Request) -> Response:
        try:
            state.faults.pending = parse_fault(await request.body(), FAULT_STATUSES, clock.now())
        except FaultSpecError as error:
            raise ApiError(400, "invalid_fault", str(error)) from None
        return Response(status_code=204)

    app.state.ready = True
    return app


def _notification_id(plaintext: str) -> str | None:
    """Herald's notification id in a decrypted payload (``{"herald": {...}}``), if any."""
    try:
        herald = json.loads(plaintext).get("herald")
    except (ValueError, AttributeError):
        return None
    value = herald.get("herald_notification_id") if isinstance(herald, dict) else None
    return value if isinstance(value, str) else None
