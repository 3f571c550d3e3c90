"""Run the FCM emulator: ``python -m services.emulators.fcm`` (loopback only).

Plain HTTP by default; with a TLS port (and certificate) it also serves HTTP/2 over TLS there, the
way FCM is reached in production, so a dispatcher can use its HTTP/2 client against it.
"""

import uvicorn

from services.emulators.fcm.app import create_app
from services.emulators.fcm.settings import FcmEmulatorSettings
from services.emulators.serving import Listen, run
from shared.logs import configure_logging


def main() -> int:
    settings = FcmEmulatorSettings()
    configure_logging(settings, "fcm-emulator")
    app = create_app(settings)
    if settings.fcm_emulator_tls_port is None:
        uvicorn.run(
            app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False
        )
        return 0
    if settings.fcm_emulator_cert_file is None or settings.fcm_emulator_key_file is None:
        raise SystemExit("HERALD_FCM_EMULATOR_CERT_FILE and _KEY_FILE are required with a TLS port")
    listen = Listen(
        tls_port=settings.fcm_emulator_tls_port,
        http_port=settings.http_port,
        cert_file=settings.fcm_emulator_cert_file,
        key_file=settings.fcm_emulator_key_file,
    )
    return run(app, listen)


if __name__ == "__main__":
    raise SystemExit(main())
