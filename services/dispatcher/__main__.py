"""Run a dispatcher: ``HERALD_DISPATCHER_PLATFORM=fcm python -m services.dispatcher``."""

from services.dispatcher.app import build, service_name
from services.dispatcher.settings import DispatcherSettings
from shared.runtime import run_service


def main() -> int:
    settings = DispatcherSettings()
    return run_service(service_name(settings), settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
