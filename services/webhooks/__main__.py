"""Run the webhooks sender: ``python -m services.webhooks``."""

import sys

from services.webhooks.app import NAME, build
from services.webhooks.settings import WebhooksSettings
from shared.runtime import run_service
from shared.service_command import service_command


def main() -> int:
    service_command(NAME, sys.argv[1:], migrates=False)
    settings = WebhooksSettings()
    return run_service(NAME, settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
