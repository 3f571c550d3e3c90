"""``herald``: the operator's command line for apps, keys, provider credentials, notification
categories and webhooks, and for the topics the catalog needs.

Apps, keys, credentials, categories and webhooks go through the registry's admin API
(services/registry/apps/admin_api.py) with HERALD_REGISTRY_URL and HERALD_ADMIN_KEY: an operator
key for every app, or an app's key with the admin scope for that app alone. Keys and secrets are
printed once and never again. ``herald device-topics`` and ``herald tags`` use the app's own key
(apps/developer_cli.py). ``herald topics`` and ``herald dlq`` need the Kafka settings only;
``herald trace`` asks the tracker (shared/trace_cli.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from contracts.categories import Category, FrequencyCap
from services.registry.apps import developer_cli
from services.registry.apps.admin_client import (
    AdminClientError,
    AdminClientSettings,
    admin_http,
    call,
)
from services.registry.apps.domain import AdminError
from shared import trace_cli
from shared.kafka import dlq_cli, topics_cli
from shared.platforms.apns.credentials import ENVIRONMENTS

ADMIN = "/v1/admin/apps"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="herald",
        description="Manage Herald apps, credentials, categories, topics and dead letters.",
    )
    groups = top.add_subparsers(dest="group", required=True)

    apps = groups.add_parser("apps", help="list, create, disable or enable apps").add_subparsers(
        dest="command", required=True
    )
    apps.add_parser("list", help="list the apps (an app's admin key sees its own)")
    create = apps.add_parser("create", help="create an app")
    create.add_argument("app_id")
    create.add_argument("--name", default="")
    for verb in ("disable", "enable"):
        apps.add_parser(verb, help=f"{verb} an app").add_argument("app_id")

    keys = groups.add_parser("keys", help="server API keys").add_subparsers(
        dest="command", required=True
    )
    key_create = keys.add_parser("create", help="issue a key (printed once)")
    key_create.add_argument("app_id")
    key_create.add_argument(
        "--scopes", required=True, help="comma-separated: send, devices, badges, admin"
    )
    key_create.add_argument("--label", default="")
    keys.add_parser("list", help="list an app's keys").add_argument("app_id")
    revoke = keys.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("app_id")
    revoke.add_argument("key_id", type=uuid.UUID)

    signing = groups.add_parser(
        "signing-keys", help="keys your server signs user tokens with"
    ).add_subparsers(dest="command", required=True)
    signing.add_parser("create", help="issue a signing key (printed once)").add_argument("app_id")
    signing_revoke = signing.add_parser("revoke", help="revoke a signing key")
    signing_revoke.add_argument("app_id")
    signing_revoke.add_argument("key_id", type=uuid.UUID)

    intake = groups.add_parser(
        "intake-keys", help="keys your producers sign Kafka records with"
    ).add_subparsers(dest="command", required=True)
    intake.add_parser("create", help="issue an intake key (printed once)").add_argument("app_id")
    intake_revoke = intake.add_parser("revoke", help="revoke an intake key")
    intake_revoke.add_argument("app_id")
    intake_revoke.add_argument("key_id", type=uuid.UUID)

    categories = groups.add_parser(
        "categories", help="notification categories users opt out of, with frequency caps"
    ).add_subparsers(dest="command", required=True)
    category_create = categories.add_parser("create", help="create (or replace) a category")
    category_create.add_argument("app_id")
    category_create.add_argument("category_id")
    category_create.add_argument("--name", default="")
    category_create.add_argument(
        "--off-by-default", action="store_true", help="only users who opt in get it"
    )
    category_create.add_argument(
        "--cap", type=int, metavar="N", help="at most N pushes per user per --window"
    )
    category_create.add_argument(
        "--window", type=int, metavar="SECONDS", help="the cap's rolling window in seconds"
    )
    categories.add_parser("list", help="list an app's categories").add_argument("app_id")
    category_delete = categories.add_parser("delete", help="delete a category")
    category_delete.add_argument("app_id")
    category_delete.add_argument("category_id")

    hooks = groups.add_parser(
        "webhooks", help="https URLs your app's notification outcomes are POSTed to"
    ).add_subparsers(dest="command", required=True)
    hook_create = hooks.add_parser("create", help="register a webhook (its secret printed once)")
    hook_create.add_argument("app_id")
    hook_create.add_argument("url")
    hook_create.add_argument(
        "--stages", help="comma-separated trace stages (default: the outcomes; see README)"
    )
    hooks.add_parser("list", help="list an app's webhooks").add_argument("app_id")
    hook_delete = hooks.add_parser("delete", help="delete a webhook")
    hook_delete.add_argument("app_id")
    hook_delete.add_argument("webhook_id", type=uuid.UUID)

    creds = groups.add_parser("credentials", help="provider credentials").add_subparsers(
        dest="command", required=True
    )
    creds.add_parser("list", help="what is stored, without its secrets").add_argument("app_id")
    setter = creds.add_parser("set", help="store (replace) one platform's credentials")
    setter.add_argument("app_id")
    kinds = setter.add_subparsers(dest="kind", required=True)
    token = kinds.add_parser("apns-token", help="APNs .p8 token auth")
    token.add_argument("--key-file", type=Path, required=True)
    token.add_argument("--key-id", required=True)
    token.add_argument("--team-id", required=True)
    token.add_argument("--topic", required=True, help="the app's bundle id")
    token.add_argument("--environment", default="production", choices=ENVIRONMENTS)
    cert = kinds.add_parser("apns-certificate", help="APNs certificate auth")
    cert.add_argument("--cert-file", type=Path, required=True, help="PEM: certificate + key")
    cert.add_argument("--topic", required=True)
    cert.add_argument("--environment", default="production", choices=ENVIRONMENTS)
    fcm = kinds.add_parser("fcm", help="FCM service account")
    fcm.add_argument("--service-account", type=Path, required=True)
    web = kinds.add_parser("webpush", help="VAPID key pair for Web Push")
    web.add_argument("--vapid-key-file", type=Path, required=True)
    web.add_argument("--subject", required=True, help="mailto: or https: contact")
    developer_cli.add_commands(groups)
    topics_cli.add_commands(groups)
    trace_cli.add_commands(groups)
    dlq_cli.add_commands(groups)
    return top


def checked_category(args: argparse.Namespace) -> Category:
    if (args.cap is None) != (args.window is None):
        raise AdminError("give --cap and --window together")
    try:
        return Category(
            category_id=args.category_id,
            name=args.name,
            default_enabled=not args.off_by_default,
            cap=None
            if args.cap is None
            else FrequencyCap(limit=args.cap, window_seconds=args.window),
        )
    except ValidationError as error:
        raise AdminError(str(error)) from None


def describe(category: Category) -> str:
    cap = category.cap
    limit = f"at most {cap.limit} per {cap.window_seconds}s" if cap else "no cap"
    default = "on by default" if category.default_enabled else "off by default"
    return f"{category.category_id:<24} {default:<15} {limit:<28} {category.name}"


def _text(path: Path) -> str:
    """A credential file's text: the admin API takes PEM and JSON, never binary DER or PKCS#12."""
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise AdminError(f"{path}: not a PEM or JSON text file") from None


def credential_body(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The platform and the admin API's body for ``credentials set``, from the files named."""
    if args.kind == "apns-token":
        return "apns", {
            "kind": "token",
            "team_id": args.team_id,
            "key_id": args.key_id,
            "topic": args.topic,
            "environment": args.environment,
            "private_key_pem": _text(args.key_file),
        }
    if args.kind == "apns-certificate":
        return "apns", {
            "kind": "certificate",
            "certificate_pem": _text(args.cert_file),
            "topic": args.topic,
            "environment": args.environment,
        }
    if args.kind == "fcm":
        try:
            account = json.loads(_text(args.service_account))
        except ValueError:
            raise AdminError(f"{args.service_account}: not a JSON service account file") from None
        return "fcm", {"service_account": account}
    return "webpush", {"subject": args.subject, "private_key_pem": _text(args.vapid_key_file)}


def run(args: argparse.Namespace, http: httpx.Client) -> str:
    """Carry out one command through the admin API; the text to print."""
    app = f"{ADMIN}/{quote(args.app_id, safe='')}" if "app_id" in args else ADMIN
    match (args.group, args.command):
        case ("apps", "list"):
            return (
                "\n".join(
                    f"{a['app_id']:<24} {'disabled' if a['disabled'] else 'active':<9} "
                    f"{a['created_at']}  {a['name']}"
                    for a in call(http, "GET", ADMIN)["apps"]
                )
                or "no apps"
            )
        case ("apps", "create"):
            call(http, "POST", ADMIN, {"app_id": args.app_id, "name": args.name})
            return f"app {args.app_id} created"
        case ("apps", "disable" | "enable"):
            call(http, "POST", f"{app}/{args.command}")
            return f"app {args.app_id} {args.command}d"
        case ("keys", "create"):
            scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
            made = call(http, "POST", f"{app}/keys", {"scopes": scopes, "label": args.label})
            return (
                f"key {made['key_id']} ({', '.join(made['scopes'])}); shown once, keep it secret:"
                f"\n{made['key']}"
            )
        case ("keys", "list"):
            lines = [
                f"{k['key_id']}  {','.join(k['scopes']):<28} {k['label']:<20} "
                f"{'revoked ' + k['revoked_at'] if k['revoked_at'] else 'active'}"
                for k in call(http, "GET", f"{app}/keys")["keys"]
            ]
            return "\n".join(lines) or f"app {args.app_id} has no keys"
        case ("keys", "revoke"):
            call(http, "DELETE", f"{app}/keys/{args.key_id}")
            return f"key {args.key_id} revoked"
        case ("signing-keys" | "intake-keys", "create"):
            made = call(http, "POST", f"{app}/{args.group}")
            what = args.group.removesuffix("s").replace("-", " ")
            return f"{what} {made['key_id']}; shown once, keep it secret:\n{made['secret']}"
        case ("signing-keys" | "intake-keys", "revoke"):
            call(http, "DELETE", f"{app}/{args.group}/{args.key_id}")
            return f"{args.group.removesuffix('s').replace('-', ' ')} {args.key_id} revoked"
        case ("categories", "create"):
            category = checked_category(args)
            body = category.model_dump(mode="json", exclude={"category_id"})
            call(http, "PUT", f"{app}/categories/{quote(category.category_id, safe='')}", body)
            return f"category {category.category_id} of {args.app_id} stored"
        case ("categories", "list"):
            found = call(http, "GET", f"{app}/categories")["categories"]
            lines = [describe(Category.model_validate(c)) for c in found]
            return "\n".join(lines) or f"app {args.app_id} has no categories"
        case ("categories", "delete"):
            call(http, "DELETE", f"{app}/categories/{quote(args.category_id, safe='')}")
            return f"category {args.category_id} of {args.app_id} deleted"
        case ("webhooks", "create"):
            stages = None if args.stages is None else [s.strip() for s in args.stages.split(",")]
            hook = call(http, "POST", f"{app}/webhooks", {"url": args.url, "stages": stages})
            return (
                f"webhook {hook['webhook_id']} -> {hook['url']} ({', '.join(hook['stages'])}); "
                f"signing secret, shown once, keep it secret:\n{hook['secret']}"
            )
        case ("webhooks", "list"):
            lines = [
                f"{h['webhook_id']}  {h['url']}  {','.join(h['stages'])}"
                for h in call(http, "GET", f"{app}/webhooks")["webhooks"]
            ]
            return "\n".join(lines) or f"app {args.app_id} has no webhooks"
        case ("webhooks", "delete"):
            call(http, "DELETE", f"{app}/webhooks/{args.webhook_id}")
            return f"webhook {args.webhook_id} of {args.app_id} deleted"
        case ("credentials", "list"):
            lines = [
                f"{c['platform']:<8} {c['kind']:<20} set {c['set_at']}  "
                + "  ".join(f"{name}={value}" for name, value in sorted(c["summary"].items()))
                for c in call(http, "GET", f"{app}/credentials")["credentials"]
            ]
            return "\n".join(lines) or f"app {args.app_id} has no provider credentials"
        case ("credentials", "set"):
            platform, body = credential_body(args)
            call(http, "PUT", f"{app}/credentials/{platform}", body)
            return f"{platform} credentials of {args.app_id} stored ({args.kind})"
    raise AdminError(f"unknown command {args.group} {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.group == "topics":
        return topics_cli.main(args)
    if args.group == "trace":
        return trace_cli.main(args)
    if args.group == "dlq":
        return dlq_cli.main(args)
    try:
        if args.group in ("device-topics", "tags"):
            with developer_cli.developer_http(developer_cli.DeveloperCliSettings()) as http:
                print(developer_cli.run(args, http))
        else:
            with admin_http(AdminClientSettings()) as http:
                print(run(args, http))
    except (AdminClientError, AdminError, OSError) as error:
        print(f"herald: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
