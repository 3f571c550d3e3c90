"""Run the scheduler: ``python -m services.scheduler``."""

from services.scheduler.app import NAME, build
from services.scheduler.settings import SchedulerSettings
from shared.runtime import run_service


def main() -> int:
    settings = SchedulerSettings()
    return run_service(NAME, settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
