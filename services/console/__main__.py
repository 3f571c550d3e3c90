"""Run the console: ``python -m services.console``."""

import sys

from services.console.app import NAME, build, serve
from services.console.settings import ConsoleSettings
from shared.logs import configure_logging
from shared.runtime import run_on_loop
from shared.service_command import service_command
from shared.settings import EventLoopSettings
from shared.telemetry import configure_tracing


def main() -> int:
    service_command(NAME, sys.argv[1:], migrates=False)
    settings = ConsoleSettings()
    configure_logging(settings, NAME)
    configure_tracing(settings, NAME)
    run_on_loop(serve(build(settings), settings), EventLoopSettings())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
