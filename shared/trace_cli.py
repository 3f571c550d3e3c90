"""``herald trace <notification-id> [--user U]``: what happened to a notification, from the
tracker's HTTP API, with one of the app's server API keys.

It needs HERALD_TRACKER_URL (default http://127.0.0.1:8088, the local stack's tracker) and
HERALD_KEY (a server API key of the app with the ``send`` scope; ``make run`` prints one as
``export HERALD_KEY=...``). It lives here, beside ``herald topics``, because the ``herald`` entry
point is the registry's and services never import one another: it knows only the public API.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr, ValidationError

from shared.settings import HeraldSettings

TIMEOUT_SECONDS = 10.0


class TraceCliSettings(HeraldSettings):
    """Where the tracker answers and the key to ask it with."""

    tracker_url: str = Field(default="http://127.0.0.1:8088", description="The tracker's base URL.")
    key: SecretStr = Field(description="A server API key of the app (scope send).")


class TraceError(Exception):
    """The tracker could not answer; the message says why."""


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``trace`` to the ``herald`` parser."""
    trace = groups.add_parser(
        "trace",
        help="what happened to a notification (HERALD_TRACKER_URL, HERALD_KEY)",
    )
    trace.add_argument("notification_id", type=uuid.UUID)
    trace.add_argument("--user", help="show this user's timeline, step by step and per device")


def fetch(client: httpx.Client, path: str) -> dict[str, Any]:
    """The JSON the tracker answers at ``path``, or a TraceError saying why not."""
    try:
        response = client.get(path)
    except httpx.HTTPError as error:
        raise TraceError(f"cannot reach the tracker at {client.base_url}: {error}") from None
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise TraceError(f"tracker answered {response.status_code}: {message}")
    body: dict[str, Any] = response.json()
    return body


def describe_notification(view: dict[str, Any]) -> list[str]:
    """The notification, its status and its counts."""
    counts = view["counts"]
    content = view.get("content") or {}
    rate = counts["open_rate"]
    lines = [
        f"notification {view['notification_id']}: {view['status']}",
        f"  accepted {view['accepted_at'] or '(not recorded)'}"
        f"  idempotency key {view['idempotency_key'] or '-'}"
        f"  category {view['category'] or '-'}",
    ]
    said = [content[part] for part in ("title", "body") if content.get(part)]
    if said:
        lines.append(f"  {': '.join(said)}")
    targeted = "?" if counts["users_targeted"] is None else counts["users_targeted"]
    lines += [
        f"  users: targeted {targeted}, held {counts['held']}, released {counts['released']},"
        f" expired {counts['expired']}, cancelled {counts['cancelled']},"
        f" no device {counts['no_device']}",
        f"  devices: targeted {counts['devices_targeted']}, sent {counts['sent']},"
        f" delivered {counts['delivered']}, token deactivated {counts['token_deactivated']},"
        f" opened {counts['opened']}" + ("" if rate is None else f" (open rate {rate:.1%})"),
    ]
    for group in ("failed", "withheld"):
        if counts[group]:
            by_reason = ", ".join(f"{reason} {n}" for reason, n in counts[group].items())
            lines.append(f"  {group}: {by_reason}")
    lines += [f"  {describe_step(step)}" for step in view["steps"]]
    return lines


def describe_step(step: dict[str, Any]) -> str:
    """One line per step: when, what, and whatever detail the step has."""
    details = [
        f"{name} {step[name]}"
        for name in ("outcome", "reason", "provider_status", "attempt", "badge", "until")
        if step.get(name) is not None
    ]
    if step.get("devices"):
        details.append("devices " + ", ".join(f"{p} {n}" for p, n in step["devices"].items()))
    return f"{step['occurred_at']}  {step['stage']:<17} {'  '.join(details)}".rstrip()


def describe_user(view: dict[str, Any]) -> list[str]:
    """A user's steps, then each device's."""
    lines = [f"user {view['user_id']}: {view['status']}"]
    lines += [f"  {describe_step(step)}" for step in view["steps"]]
    for device in view["devices"]:
        answer = [
            f"{name} {device[name]}"
            for name in ("provider_status", "reason", "until")
            if device.get(name) is not None
        ]
        lines.append(
            f"  device {device.get('device_id')} ({device.get('platform') or '?'}):"
            f" {device['outcome']}" + (f" ({', '.join(answer)})" if answer else "")
        )
        lines += [f"    {describe_step(step)}" for step in device["steps"]]
    return lines


def trace(args: argparse.Namespace, settings: TraceCliSettings) -> str:
    """The text ``herald trace`` prints."""
    headers = {"Authorization": f"Bearer {settings.key.get_secret_value()}"}
    with httpx.Client(
        base_url=settings.tracker_url, headers=headers, timeout=TIMEOUT_SECONDS
    ) as client:
        lines = describe_notification(fetch(client, f"/v1/notifications/{args.notification_id}"))
        if args.user is not None:
            user = quote(args.user, safe="")
            path = f"/v1/notifications/{args.notification_id}/users/{user}"
            lines += describe_user(fetch(client, path))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run ``herald trace``; 1 when the tracker cannot answer or the settings are missing."""
    try:
        print(trace(args, TraceCliSettings()))
    except ValidationError as error:
        names = ", ".join(f"HERALD_{str(e['loc'][0]).upper()}" for e in error.errors())
        print(f"herald trace: set {names}", file=sys.stderr)
        return 1
    except TraceError as error:
        print(f"herald trace: {error}", file=sys.stderr)
        return 1
    return 0
