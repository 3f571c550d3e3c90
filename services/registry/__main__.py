"""Run the registry: ``python -m services.registry``."""

from services.registry.app import NAME, build
from services.registry.settings import RegistrySettings
from shared.runtime import run_service


def main() -> int:
    settings = RegistrySettings()
    return run_service(NAME, settings, lambda: build(settings))


if __name__ == "__main__":
    raise SystemExit(main())
