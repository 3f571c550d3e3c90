"""``make run``: the whole stack on this machine until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
import time

from services.devstack.stack import LocalStack, StackOptions


def say(line: str) -> None:
    sys.stdout.write(f"==> {line}\n")
    sys.stdout.flush()


def banner(stack: LocalStack) -> str:
    s = stack.services
    ingest, registry, emulator = s["ingest"].url, s["registry"].url, s["fcm-emulator"].url
    key = stack.api_key
    return f"""
Herald is running.

  ingest    (send notifications)   {ingest}/docs
  registry  (register devices)     {registry}/docs
  FCM emulator (what was pushed)   {emulator}/emulator/messages
  health: scheduler {s["scheduler"].url}/readyz, badge-count {s["badge-count"].url}/readyz,
          dispatcher-fcm {s["dispatcher-fcm"].url}/readyz
  broker {stack.broker.bootstrap if stack.broker else "?"}   logs {stack.run_dir / "logs"}

App "{stack.options.app_id}", API key (shown once, valid until this stack stops):
  export HERALD_KEY={key}

Register a device, send it a push, and look at what arrived:
  curl -s -X POST {registry}/v1/devices -H "Authorization: Bearer $HERALD_KEY" \\
       -H 'content-type: application/json' \\
       -d '{{"user_id": "alice", "platform": "fcm",
            "token": "alice-pixel-fcm-token-0000000000000001"}}'
  curl -s -X POST {ingest}/v1/notifications -H "Authorization: Bearer $HERALD_KEY" \\
       -H 'content-type: application/json' \\
       -d '{{"idempotency_key": "hello-1", "audience": {{"user_ids": ["alice"]}},
            "content": {{"title": "Hello", "body": "First push"}}}}'
  curl -s {emulator}/emulator/messages

Press Ctrl-C to stop everything.
"""


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = LocalStack(StackOptions())
    started = time.monotonic()
    try:
        stack.start(progress=say)
        say(f"ready in {time.monotonic() - started:.1f}s")
        sys.stdout.write(banner(stack))
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
