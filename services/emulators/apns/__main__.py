"""Run the APNs emulator: ``python -m services.emulators.apns`` (loopback only)."""

from services.emulators.apns.app import create_app
from services.emulators.apns.settings import ApnsEmulatorSettings
from services.emulators.serving import Listen, run
from shared.logs import configure_logging


def main() -> int:
    settings = ApnsEmulatorSettings()
    configure_logging(settings, "apns-emulator")
    if settings.apns_emulator_cert_file is None or settings.apns_emulator_key_file is None:
        raise SystemExit("HERALD_APNS_EMULATOR_CERT_FILE and _KEY_FILE are required (TLS)")
    listen = Listen(
        tls_port=settings.apns_emulator_tls_port,
        http_port=settings.http_port,
        cert_file=settings.apns_emulator_cert_file,
        key_file=settings.apns_emulator_key_file,
        client_ca=settings.apns_emulator_client_ca,
        windows=settings.flow_windows(),
    )
    return run(create_app(settings), listen)


if __name__ == "__main__":
    raise SystemExit(main())
