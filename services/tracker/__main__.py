"""Run the tracker: ``python -m services.tracker``; ``migrate`` applies its migrations and exits."""

import sys

from services.tracker.app import MIGRATIONS, NAME, SCHEMA, build
from services.tracker.settings import TrackerSettings
from shared.runtime import run_service
from shared.service_command import run_migrations, service_command


def main() -> int:
    if service_command(NAME, sys.argv[1:], migrates=True) == "migrate":
        return run_migrations(NAME, SCHEMA, MIGRATIONS)
    settings = TrackerSettings()
    return run_service(NAME, settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
