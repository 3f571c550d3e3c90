"""``make run``: the whole stack on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import replace

from services.devstack.stack import LocalStack, StackOptions
from shared.embedded.brokers import broker_kind
from shared.tenancy.auth import key_digest, new_api_key


def say(line: str) -> None:
    sys.stdout.write(f"==> {line}\n")
    sys.stdout.flush()


def with_operator_key(options: StackOptions, key: str) -> StackOptions:
    """The options with ``key`` as the registry's one operator key (HERALD_OPERATOR_KEYS holds
    its digest; the key itself is only printed)."""
    digests = {"HERALD_OPERATOR_KEYS": json.dumps([key_digest(key)])}
    return replace(options, service_env={**options.service_env, **digests})


def banner(stack: LocalStack, operator_key: str) -> str:
    s = stack.services
    ingest, registry, fcm = s["ingest"].url, s["registry"].url, s["fcm-emulator"].url
    apns, webpush = s["apns-emulator"].url, s["webpush-emulator"].url
    apns_tls, webpush_tls = stack.tls_ports["apns-emulator"], stack.tls_ports["webpush-emulator"]
    fcm_tls = stack.tls_ports["fcm-emulator"]
    key = stack.api_key
    return f"""
Herald is running.

  console   (compose, preview, send, follow; sign in with HERALD_KEY below)  {s["console"].url}
  ingest    (send notifications)   {ingest}/docs
  registry  (register devices)     {registry}/docs
  tracker   (what happened)        {s["tracker"].url}/docs
  what was pushed:  FCM {fcm}/emulator/messages   (FCM's API: TLS + HTTP/2 on :{fcm_tls})
                    APNs {apns}/emulator/messages   (Apple's API: TLS + HTTP/2 on :{apns_tls})
                    Web Push {webpush}/emulator/messages   (push service: TLS on :{webpush_tls})
  health: scheduler {s["scheduler"].url}/readyz, badge-count {s["badge-count"].url}/readyz,
          dispatchers fcm {s["dispatcher-fcm"].url}/readyz, apns {s["dispatcher-apns"].url}/readyz,
          webpush {s["dispatcher-webpush"].url}/readyz, webhooks {s["webhooks"].url}/readyz
  broker {stack.broker.bootstrap if stack.broker else "?"}   logs {stack.run_dir / "logs"}
  generated credentials (deleted on stop): {stack.run_dir / "secrets"}

App "{stack.options.app_id}", API key with every scope, admin included (shown once, valid until
this stack stops; the console's Keys page issues narrower ones):
  export HERALD_KEY={key}
  export HERALD_TRACKER_URL={s["tracker"].url}   # for: herald trace <notification-id>
An operator key for the admin API and the herald command (every app; valid until this stack stops):
  export HERALD_REGISTRY_URL={registry} HERALD_ADMIN_KEY={operator_key}
  herald apps list; herald keys list {stack.options.app_id}   # herald --help names the rest
Its intake key, to sign what it publishes to Kafka (README, "Sending through Kafka"):
  export HERALD_INTAKE_KEY_ID={stack.intake_key_id} HERALD_INTAKE_KEY={stack.intake_key_secret}

Register devices for alice (an Android phone, an iPhone, a browser), send, look at what arrived:
  curl -s -X POST {registry}/v1/devices -H "Authorization: Bearer $HERALD_KEY" \\
       -H 'content-type: application/json' \\
       -d '{{"user_id": "alice", "platform": "fcm",
            "token": "alice-pixel-fcm-token-0000000000000001"}}'
  curl -s -X POST {registry}/v1/devices -H "Authorization: Bearer $HERALD_KEY" \\
       -H 'content-type: application/json' \\
       -d '{{"user_id": "alice", "platform": "apns", "token": "{"ab" * 32}"}}'
  SUB=$(curl -s -X POST {webpush}/emulator/subscriptions)   # a browser's PushSubscription
  curl -s -X POST {registry}/v1/devices -H "Authorization: Bearer $HERALD_KEY" \\
       -H 'content-type: application/json' \\
       -d "$(python3 -c 'import json,sys; print(json.dumps({{"user_id": "alice",
            "platform": "webpush", "token": sys.argv[1]}}))' "$SUB")"
  curl -s -X POST {ingest}/v1/notifications -H "Authorization: Bearer $HERALD_KEY" \\
       -H 'content-type: application/json' \\
       -d '{{"idempotency_key": "hello-1", "audience": {{"user_ids": ["alice"]}},
            "content": {{"title": "Hello", "body": "First push"}}}}'
  curl -s {fcm}/emulator/messages; curl -s {apns}/emulator/messages
  curl -s {webpush}/emulator/messages   # decrypted by the push service emulator

Press Ctrl-C to stop everything.
"""


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="make run", description=__doc__)
    options.add_argument(
        "--broker",
        type=broker_kind,
        default="embedded",
        help="embedded (default, in memory) or kafka (one Apache Kafka node; needs Java and Maven)",
    )
    args = options.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    operator_key = new_api_key()
    stack = LocalStack(with_operator_key(StackOptions(broker=args.broker), operator_key))
    started = time.monotonic()
    try:
        stack.start(progress=say)
        say(f"ready in {time.monotonic() - started:.1f}s")
        sys.stdout.write(banner(stack, operator_key))
        sys.stdout.flush()
        while not stop.wait(1.0):
            for process in stack.services.values():
                if process.process is not None and process.process.poll() is not None:
                    say(f"{process.name} exited; see {process.log_path}")
                    stop.set()
    finally:
        say("stopping")
        stack.stop()
        say("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
