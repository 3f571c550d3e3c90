"""Run a dispatcher: ``HERALD_DISPATCHER_PLATFORM=fcm python -m services.dispatcher``."""

import sys

from services.dispatcher.app import build, service_name
from services.dispatcher.settings import DispatcherSettings
from shared.runtime import run_service
from shared.service_command import service_command


def main() -> int:
    service_command("dispatcher", sys.argv[1:], migrates=False)
    settings = DispatcherSettings()
    return run_service(service_name(settings), settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
