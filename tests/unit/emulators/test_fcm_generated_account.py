"""An emulator told to generate its own service account writes it privately and trusts it."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import jwt
import pytest

from services.emulators.fcm.accounts import GOOGLE_OAUTH_AUDIENCE
from services.emulators.fcm.app import create_app
from services.emulators.fcm.oauth import JWT_BEARER_GRANT
from services.emulators.fcm.settings import FcmEmulatorSettings

pytestmark = pytest.mark.unit


async def test_generated_account_is_private_points_at_the_emulator_and_is_trusted(
    tmp_path: Path,
) -> None:
    target = tmp_path / "secrets" / "fcm.json"
    settings = FcmEmulatorSettings(
        http_port=8123,
        fcm_emulator_service_accounts=[],
        fcm_emulator_generate_account=target,
        fcm_emulator_project_id="stack-1",
    )

    app = create_app(settings)
    account = json.loads(target.read_text())
    now = int(time.time())
    assertion = jwt.encode(
        {
            "iss": account["client_email"],
            "aud": GOOGLE_OAUTH_AUDIENCE,
            "scope": "https://www.googleapis.com/auth/firebase.messaging",
            "iat": now,
            "exp": now + 600,
        },
        account["private_key"],
        algorithm="RS256",
        headers={"kid": account["private_key_id"]},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        reply = await client.post(
            "/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        )

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert account["project_id"] == "stack-1"
    assert account["token_uri"] == "http://127.0.0.1:8123/token"
    assert reply.status_code == 200
    assert reply.json()["token_type"] == "Bearer"
