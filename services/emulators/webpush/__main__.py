"""Run the Web Push emulator: ``python -m services.emulators.webpush`` (loopback only)."""

from services.emulators.serving import Listen, run
from services.emulators.webpush.app import create_app
from services.emulators.webpush.settings import WebPushEmulatorSettings
from shared.logs import configure_logging


def main() -> int:
    settings = WebPushEmulatorSettings()
    configure_logging(settings, "webpush-emulator")
    if settings.webpush_emulator_cert_file is None or settings.webpush_emulator_key_file is None:
        raise SystemExit("HERALD_WEBPUSH_EMULATOR_CERT_FILE and _KEY_FILE are required (TLS)")
    listen = Listen(
        tls_port=settings.webpush_emulator_tls_port,
        http_port=settings.http_port,
        cert_file=settings.webpush_emulator_cert_file,
        key_file=settings.webpush_emulator_key_file,
    )
    return run(create_app(settings), listen)


if __name__ == "__main__":
    raise SystemExit(main())
