"""The compose form as a send request: the form's flat fields become the same
``NotificationRequest`` ingest validates, and its validation errors name the form's fields. Pure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.content import MAX_ACTIONS, NotificationRequest

AUDIENCES = ("user_ids", "topic", "condition", "segment", "all")
ACTION_ROWS = range(1, MAX_ACTIONS + 1)


@dataclass(frozen=True)
class Problem:
    """One thing to fix: the request field (dotted) and what is wrong."""

    field: str
    message: str


class FormProblem(ValueError):
    """The form cannot become a request; ``problems`` name each field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _audience(form: Mapping[str, str]) -> dict[str, Any]:
    kind = form.get("audience", "user_ids")
    if kind == "all":
        return {"all": True}
    if kind == "user_ids":
        raw = form.get("user_ids", "").replace(",", " ").split()
        return {"user_ids": raw}
    if kind == "segment":
        return {"segment": _json(form, "segment", "audience.segment")}
    if kind in AUDIENCES:
        return {kind: form.get(kind, "").strip()}
    raise FormProblem([Problem("audience", f"choose one of {', '.join(AUDIENCES)}")])


def _json(form: Mapping[str, str], name: str, field: str) -> Any:
    try:
        return json.loads(form.get(name, "") or "{}")
    except json.JSONDecodeError as error:
        raise FormProblem([Problem(field, f"not JSON: {error.msg}")]) from None


def _data(form: Mapping[str, str]) -> dict[str, str]:
    """``key=value`` lines."""
    data: dict[str, str] = {}
    for number, line in enumerate(form.get("data", "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise FormProblem([Problem("content.data", f"line {number}: write key=value")])
        data[key.strip()] = value.strip()
    return data


def _actions(form: Mapping[str, str]) -> list[dict[str, Any]]:
    actions = []
    for row in ACTION_ROWS:
        action_id, title = _text(form, f"action_id_{row}"), _text(form, f"action_title_{row}")
        if action_id or title:
            link = _text(form, f"action_link_{row}")
            actions.append({"id": action_id or "", "title": title or "", "deep_link": link})
    return actions


def _badge(form: Mapping[str, str]) -> str | int:
    rule = form.get("badge", "auto")
    if rule == "set":
        number = form.get("badge_number", "").strip()
        if not number.isdigit():
            raise FormProblem([Problem("options.badge", "give the badge number to set")])
        return int(number)
    return rule


def _schedule(form: Mapping[str, str]) -> dict[str, Any] | None:
    schedule: dict[str, Any] = {}
    when = form.get("when", "now")
    if when == "at":
        send_at = _text(form, "send_at")
        schedule["send_at"] = f"{send_at}:00Z" if send_at and len(send_at) == 16 else send_at
    elif when == "local":
        schedule["local_time"] = _text(form, "local_time")
        if _text(form, "time_zone"):
            schedule["time_zone"] = _text(form, "time_zone")
    if form.get("urgent"):
        schedule["urgent"] = True
    if _text(form, "rate_per_minute"):
        schedule["rate_per_minute"] = _text(form, "rate_per_minute")
    return schedule or None


def request_fields(form: Mapping[str, str]) -> dict[str, Any]:
    """The request body the form describes, before validation."""
    content: dict[str, Any] = {
        key: _text(form, key)
        for key in ("title", "body", "subtitle", "image_url", "deep_link", "sound", "category")
    }
    content["data"] = _data(form)
    if _text(form, "overrides"):
        content["overrides"] = _json(form, "overrides", "content.overrides")
    content["actions"] = _actions(form)
    locale = _text(form, "variant_locale")
    if locale:
        content["localized"] = {
            locale: {"title": _text(form, "variant_title"), "body": _text(form, "variant_body")}
        }
    options: dict[str, Any] = {
        "priority": form.get("priority", "high"),
        "ttl_seconds": _text(form, "ttl_seconds"),
        "collapse_key": _text(form, "collapse_key"),
        "badge": _badge(form),
    }
    body: dict[str, Any] = {
        "idempotency_key": _text(form, "idempotency_key") or str(uuid.uuid4()),
        "audience": _audience(form),
        "content": {k: v for k, v in content.items() if v not in (None, [], {})},
        "options": {k: v for k, v in options.items() if v is not None},
        "category": _text(form, "notification_category"),
    }
    schedule = _schedule(form)
    if schedule is not None:
        body["schedule"] = schedule
    return {k: v for k, v in body.items() if v is not None}


def parse(form: Mapping[str, str]) -> NotificationRequest:
    """The request the form describes; raise FormProblem naming each field to fix."""
    fields = request_fields(form)
    try:
        return NotificationRequest.model_validate(fields)
    except ValidationError as error:
        raise FormProblem(
            [
                Problem(".".join(str(part) for part in item["loc"]) or "(form)", item["msg"])
                for item in error.errors()
            ]
        ) from None


def for_test_device(request: NotificationRequest, device_id: str) -> dict[str, Any]:
    """The same send aimed at one device, now, under its own idempotency key."""
    try:
        device = uuid.UUID(device_id.strip())
    except ValueError:
        raise FormProblem([Problem("test_device", "a device id (a UUID)")]) from None
    body = request.model_dump(mode="json", exclude={"schedule"})
    body["audience"] = {"device_ids": [str(device)]}
    body["idempotency_key"] = f"test-{uuid.uuid4()}"
    return body
