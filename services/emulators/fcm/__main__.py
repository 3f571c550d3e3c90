"""Run the FCM emulator: ``python -m services.emulators.fcm`` (loopback only)."""

import uvicorn

from services.emulators.fcm.app import create_app
from services.emulators.fcm.settings import FcmEmulatorSettings
from shared.logs import configure_logging


def main() -> int:
    settings = FcmEmulatorSettings()
    configure_logging(settings, "fcm-emulator")
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
