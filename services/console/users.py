"""The users page: a user's devices with each one's topics and recent pushes, the user's own
topics, preferences, badge and recent notifications. Each device's pushes come from the
tracker's per-user timelines of the user's recent notifications (each has a step list per
device), so the console asks nothing the tracker does not already serve."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from services.console.session import Session
from services.console.upstream import Upstream, UpstreamError, segment
from services.console.web import page, session_of

Signed = Annotated[Session, Depends(session_of)]
#: The user's recent notifications looked at, and so the most pushes shown per device.
RECENT = 10


@dataclass(frozen=True)
class DevicePush:
    """What became of one notification on one device."""

    notification_id: str
    title: str
    outcome: str
    provider_status: int | None
    reason: str | None
    at: str | None


def pushes_by_device(
    inbox: list[dict[str, Any]], timelines: list[dict[str, Any] | None]
) -> dict[str, list[DevicePush]]:
    """Per device id, newest first, the outcome of each of the user's notifications that went to
    it; ``timelines`` are the user's timelines of ``inbox``'s notifications (None: none yet)."""
    found: dict[str, list[DevicePush]] = {}
    for item, timeline in zip(inbox, timelines, strict=True):
        if timeline is None:
            continue
        content = item.get("content") or {}
        title = str(content.get("title") or item["notification_id"])
        for device in timeline.get("devices", []):
            if device.get("device_id") is None:
                continue
            steps = device.get("steps") or []
            found.setdefault(str(device["device_id"]), []).append(
                DevicePush(
                    notification_id=str(item["notification_id"]),
                    title=title,
                    outcome=str(device["outcome"]),
                    provider_status=device.get("provider_status"),
                    reason=device.get("reason"),
                    at=steps[-1]["occurred_at"] if steps else None,
                )
            )
    return found


def add_users(app: FastAPI, upstream: Upstream) -> None:
    """Mount the users page on ``app``."""

    async def fetched(service: str, path: str, key: str, errors: dict[str, str], name: str) -> Any:
        try:
            return await upstream.get(service, path, key)
        except UpstreamError as error:
            errors[name] = error.message
            return None

    async def timeline(
        key: str, notification_id: str, user: str, errors: dict[str, str]
    ) -> dict[str, Any] | None:
        """The user's timeline of the notification; None before its first step (404)."""
        path = f"/v1/notifications/{segment(notification_id)}/users/{user}"
        try:
            answer: dict[str, Any] = await upstream.get("tracker", path, key)
        except UpstreamError as error:
            if error.status != 404:
                errors["pushes"] = error.message
            return None
        return answer

    @app.get("/users", response_class=HTMLResponse, include_in_schema=False)
    async def users(request: Request, session: Signed, user_id: str = "") -> Response:
        user_id = user_id.strip()
        found: dict[str, Any] = {}
        errors: dict[str, str] = {}
        key = session.api_key
        if user_id:
            user = segment(user_id)
            lookups = {
                "devices": ("registry", f"/v1/users/{user}/devices"),
                "topics": ("registry", f"/v1/users/{user}/topics"),
                "preferences": ("registry", f"/v1/users/{user}/preferences"),
                "badge": ("badge", f"/v1/users/{user}/badge"),
                "inbox": ("tracker", f"/v1/users/{user}/notifications?limit={RECENT}"),
            }
            answers = await asyncio.gather(
                *(fetched(s, path, key, errors, name) for name, (s, path) in lookups.items())
            )
            found = {name: a for name, a in zip(lookups, answers, strict=True) if a is not None}
            devices = found.get("devices", {}).get("devices", [])
            inbox = found.get("inbox", {}).get("notifications", [])
            device_topics, timelines = await asyncio.gather(
                asyncio.gather(
                    *(
                        fetched(
                            "registry",
                            f"/v1/devices/{segment(str(d['device_id']))}/topics",
                            key,
                            errors,
                            "device topics",
                        )
                        for d in devices
                    )
                ),
                asyncio.gather(
                    *(timeline(key, str(n["notification_id"]), user, errors) for n in inbox)
                ),
            )
            found["device_topics"] = {
                str(d["device_id"]): (t or {}).get("topics", [])
                for d, t in zip(devices, device_topics, strict=True)
            }
            found["pushes"] = pushes_by_device(inbox, list(timelines))
        context = {"session": session, "user_id": user_id, "found": found, "errors": errors}
        return page(request, "users.html", context)
