"""Run ingest: ``python -m services.ingest``."""

from services.ingest.app import NAME, build
from services.ingest.settings import IngestSettings
from shared.runtime import run_service


def main() -> int:
    settings = IngestSettings()
    return run_service(NAME, settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
