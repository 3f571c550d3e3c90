"""``herald device-topics`` and ``herald tags``: what an app developer checks or fixes by hand on
one device or user, through the registry's device API with the app's own server key.

They need HERALD_REGISTRY_URL and HERALD_KEY (a server key of the app with the ``devices`` scope;
``make run`` prints one), not an operator key: these routes act for one app.
"""

from __future__ import annotations

import argparse
import uuid
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr

from services.registry.apps.admin_client import AdminClientError, call, registry_http
from shared.settings import HeraldSettings

KEY_NAME = "HERALD_KEY"


class DeveloperCliSettings(HeraldSettings):
    """``HERALD_REGISTRY_URL`` and ``HERALD_KEY``, checked when used."""

    registry_url: str | None = Field(default=None, description="The registry's base URL.")
    key: SecretStr | None = Field(default=None, description="A server key of the app (devices).")


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``device-topics`` and ``tags`` to the ``herald`` parser."""
    topics = groups.add_parser(
        "device-topics",
        help="a device's topics; subscribe or unsubscribe it (HERALD_REGISTRY_URL, HERALD_KEY)",
    )
    topics.add_argument("device_id", type=uuid.UUID)
    topics.add_argument("--subscribe", help="comma-separated topics to subscribe it to")
    topics.add_argument("--unsubscribe", help="comma-separated topics to unsubscribe it from")
    tags = groups.add_parser(
        "tags",
        help="a user's or device's tags; set or remove some (HERALD_REGISTRY_URL, HERALD_KEY)",
    )
    whose = tags.add_mutually_exclusive_group(required=True)
    whose.add_argument("--user")
    whose.add_argument("--device", type=uuid.UUID)
    tags.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    tags.add_argument("--remove", action="append", default=[], metavar="KEY")


def developer_http(settings: DeveloperCliSettings) -> httpx.Client:
    """A client of the registry with the app's key, or AdminClientError naming what is missing."""
    if not settings.registry_url:
        raise AdminClientError("HERALD_REGISTRY_URL is not set: the registry's address")
    if settings.key is None or not settings.key.get_secret_value():
        raise AdminClientError("HERALD_KEY is not set: a server key of the app (devices scope)")
    return registry_http(settings.registry_url, settings.key)


def _names(listed: str | None) -> list[str]:
    return [name.strip() for name in (listed or "").split(",") if name.strip()]


def run(args: argparse.Namespace, http: httpx.Client) -> str:
    """Carry out ``device-topics`` or ``tags``; the text to print."""
    if args.group == "device-topics":
        path = f"/v1/devices/{args.device_id}/topics"
        change = {"subscribe": _names(args.subscribe), "unsubscribe": _names(args.unsubscribe)}
        if change["subscribe"] or change["unsubscribe"]:
            found = call(http, "POST", path, change, key_name=KEY_NAME)
        else:
            found = call(http, "GET", path, key_name=KEY_NAME)
        return "\n".join(found["topics"]) or f"device {args.device_id} has no topics"
    if args.user is not None:
        path, whose = f"/v1/users/{quote(args.user, safe='')}/tags", f"user {args.user}"
    else:
        path, whose = f"/v1/devices/{args.device}/tags", f"device {args.device}"
    changes: dict[str, str | None] = dict.fromkeys(args.remove)
    for pair in args.set:
        name, sep, value = pair.partition("=")
        if not sep:
            raise AdminClientError(f"--set {pair}: expected KEY=VALUE")
        changes[name] = value
    if changes:
        found = call(http, "PATCH", path, {"tags": changes}, key_name=KEY_NAME)
    else:
        found = call(http, "GET", path, key_name=KEY_NAME)
    lines = [f"{name}={value}" for name, value in sorted(found["tags"].items())]
    return "\n".join(lines) or f"{whose} has no tags"
