"""The compose trial's one-shot setup (deploy/docker-compose.yml): the emulators' credentials, then
the demo app with its keys and provider credentials, as ``make run`` makes them.

Once it has succeeded on a volume it does nothing there again: the emulators trust the files it
made, and the app's keys were printed once, when it was created.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.devstack import credentials
from services.devstack.provision import provision
from services.registry.apps.domain import AdminError
from shared.secrets import SecretsSettings
from shared.settings import DatabaseSettings, KafkaSettings

#: Apple names a key file by its id; a fixed id lets the compose file name the trial's key.
APNS_KEY_ID = "TRIALKEY01"


class TrialSettings(KafkaSettings, DatabaseSettings, SecretsSettings):
    """The broker, the registry's database and the secrets keys, as every service gets them."""


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="python -m services.devstack.trial", description=__doc__)
    options.add_argument("folder", type=Path, help="where the credentials are kept (a volume)")
    options.add_argument("--app", default="demo", help="the demo app's id")
    options.add_argument("--fcm-token-uri", required=True, help="the FCM emulator's /token URL")
    args = options.parse_args(argv)
    settings = TrialSettings()
    done = args.folder / ".set-up"
    if done.exists():
        print(f"the trial is set up already ({args.folder}); app {args.app!r} exists")
        return 0
    if not settings.secrets_keys:
        print("HERALD_SECRETS_KEYS is not set (deploy/README.md)", file=sys.stderr)
        return 1
    creds = credentials.generate(
        args.folder, fcm_token_uri=args.fcm_token_uri, apns_key_id=APNS_KEY_ID
    )
    print(f"trial credentials in {args.folder} (the emulators and dispatchers share them)")
    try:
        demo = asyncio.run(
            provision(
                dsn=settings.database_dsn.get_secret_value(),
                kafka=settings,
                secrets_key=settings.secrets_keys[0].get_secret_value(),
                app_id=args.app,
                creds=creds,
            )
        )
    except AdminError as error:
        print(f"{error}: its keys were printed when it was created (docker compose logs)")
        done.touch()
        return 0
    done.touch()
    print(f"app {args.app!r} created. Its keys, shown once:")
    print(f"  export HERALD_KEY={demo.api_key}")
    print(f"  export HERALD_INTAKE_KEY_ID={demo.intake_key_id}")
    print(f"  export HERALD_INTAKE_KEY={demo.intake_key_secret}")
    print(f"  signing key for user tokens: {demo.signing_key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
