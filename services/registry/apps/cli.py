"""``herald``: the operator's command line for apps, keys, provider credentials, notification
categories and webhooks, and for the topics the catalog needs.

Apps, keys and credentials work directly on the registry's database and announce each change on
the broker, so they need the registry's settings: HERALD_DATABASE_DSN, HERALD_KAFKA_* and
HERALD_SECRETS_KEYS (and HERALD_TOPIC_PREFIX when used). Keys are printed once and never again.
``herald topics`` and ``herald dlq`` need the Kafka settings only; ``herald trace`` asks the
tracker (shared/trace_cli.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from contracts.categories import Category, FrequencyCap
from services.registry.apps.admin import AppAdmin
from services.registry.apps.domain import AdminError
from shared import trace_cli
from shared.clock import SystemClock
from shared.db import create_pool, migrate
from shared.kafka import create_bus, dlq_cli, topics_cli
from shared.platforms.apns.credentials import ENVIRONMENTS, certificate_credential, token_credential
from shared.platforms.base import CredentialsError, StoredCredential
from shared.platforms.endpoints import WebhookAddressSettings
from shared.platforms.fcm.credentials import service_account_credential
from shared.platforms.webpush.credentials import vapid_credential
from shared.runtime import prepare_topics
from shared.secrets import SecretBox, SecretsSettings, SecretsUnavailable
from shared.settings import DatabaseSettings, KafkaSettings

SCHEMA = "registry"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class CliSettings(KafkaSettings, DatabaseSettings, SecretsSettings, WebhookAddressSettings):
    """What the CLI needs: the registry's database, the broker and the secrets keys."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="herald",
        description="Manage Herald apps, credentials, categories, topics and dead letters.",
    )
    groups = top.add_subparsers(dest="group", required=True)

    apps = groups.add_parser("apps", help="create, disable or enable apps").add_subparsers(
        dest="command", required=True
    )
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


def checked_credential(args: argparse.Namespace) -> StoredCredential:
    if args.kind == "apns-token":
        return token_credential(
            args.key_file.read_bytes(),
            key_id=args.key_id,
            team_id=args.team_id,
            topic=args.topic,
            environment=args.environment,
        )
    if args.kind == "apns-certificate":
        return certificate_credential(
            args.cert_file.read_bytes(), topic=args.topic, environment=args.environment
        )
    if args.kind == "fcm":
        return service_account_credential(args.service_account.read_bytes())
    return vapid_credential(args.vapid_key_file.read_bytes(), subject=args.subject)


async def run(args: argparse.Namespace, settings: CliSettings) -> str:
    """Carry out one command; the text to print."""
    pool = await create_pool(settings, SCHEMA)
    bus = create_bus(settings, client_id="herald-cli")
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
        await prepare_topics(settings)
        await bus.broker.start()
        admin = AppAdmin(
            pool,
            bus,
            SecretBox(settings),
            SystemClock(),
            webhook_networks=settings.webhook_allowed_networks,
        )
        return await _dispatch(admin, args)
    finally:
        await bus.broker.stop()
        await pool.close()


async def _dispatch(admin: AppAdmin, args: argparse.Namespace) -> str:
    match (args.group, args.command):
        case ("apps", "create"):
            await admin.create_app(args.app_id, args.name)
            return f"app {args.app_id} created"
        case ("apps", "disable" | "enable"):
            await admin.set_disabled(args.app_id, args.command == "disable")
            return f"app {args.app_id} {args.command}d"
        case ("keys", "create"):
            scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
            info, key = await admin.create_key(args.app_id, scopes, args.label)
            return f"key {info.key_id} ({', '.join(scopes)}); shown once, keep it secret:\n{key}"
        case ("keys", "list"):
            lines = [
                f"{k.key_id}  {','.join(k.scopes):<28} {k.label:<20} "
                f"{'revoked ' + k.revoked_at.isoformat() if k.revoked_at else 'active'}"
                for k in await admin.keys(args.app_id)
            ]
            return "\n".join(lines) or f"app {args.app_id} has no keys"
        case ("keys", "revoke"):
            await admin.revoke_key(args.app_id, args.key_id)
            return f"key {args.key_id} revoked"
        case ("signing-keys", "create"):
            key_id, secret = await admin.create_signing_key(args.app_id)
            return f"signing key {key_id}; shown once, keep it secret:\n{secret}"
        case ("signing-keys", "revoke"):
            await admin.revoke_signing_key(args.app_id, args.key_id)
            return f"signing key {args.key_id} revoked"
        case ("intake-keys", "create"):
            key_id, secret = await admin.create_intake_key(args.app_id)
            return f"intake key {key_id}; shown once, keep it secret:\n{secret}"
        case ("intake-keys", "revoke"):
            await admin.revoke_intake_key(args.app_id, args.key_id)
            return f"intake key {args.key_id} revoked"
        case ("categories", "create"):
            category = checked_category(args)
            await admin.put_category(args.app_id, category)
            return f"category {category.category_id} of {args.app_id} stored"
        case ("categories", "list"):
            lines = [describe(c) for c in await admin.categories(args.app_id)]
            return "\n".join(lines) or f"app {args.app_id} has no categories"
        case ("categories", "delete"):
            await admin.delete_category(args.app_id, args.category_id)
            return f"category {args.category_id} of {args.app_id} deleted"
        case ("webhooks", "create"):
            stages = None if args.stages is None else [s.strip() for s in args.stages.split(",")]
            hook, secret = await admin.create_webhook(args.app_id, args.url, stages)
            return (
                f"webhook {hook.webhook_id} -> {hook.url} ({', '.join(hook.stages)}); "
                f"signing secret, shown once, keep it secret:\n{secret}"
            )
        case ("webhooks", "list"):
            lines = [
                f"{h.webhook_id}  {h.url}  {','.join(h.stages)}"
                for h in await admin.webhooks(args.app_id)
            ]
            return "\n".join(lines) or f"app {args.app_id} has no webhooks"
        case ("webhooks", "delete"):
            await admin.delete_webhook(args.app_id, args.webhook_id)
            return f"webhook {args.webhook_id} of {args.app_id} deleted"
        case ("credentials", "set"):
            credential = checked_credential(args)
            await admin.set_credential(args.app_id, credential)
            return f"{credential.platform} credentials of {args.app_id} stored ({credential.kind})"
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
        print(asyncio.run(run(args, CliSettings())))
    except (AdminError, CredentialsError, SecretsUnavailable, OSError) as error:
        print(f"herald: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
