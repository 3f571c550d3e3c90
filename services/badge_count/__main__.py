"""Run badge-count: ``python -m services.badge_count``."""

from services.badge_count.app import NAME, build
from services.badge_count.settings import BadgeCountSettings
from shared.runtime import run_service


def main() -> int:
    settings = BadgeCountSettings()
    return run_service(NAME, settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
