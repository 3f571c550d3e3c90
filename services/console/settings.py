"""Console settings (environment, prefix ``HERALD_``)."""

from pathlib import Path

from pydantic import Field, SecretStr

from shared.health import ReadinessSettings
from shared.settings import HttpSettings, ObservabilitySettings

#: Where ``npm ci --prefix services/console`` (make install) puts htmx, pinned in package.json.
DEFAULT_HTMX = Path(__file__).parent / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"


class ConsoleSettings(HttpSettings, ObservabilitySettings, ReadinessSettings):
    """Where the APIs it calls are, how its session cookie is sealed, and where htmx is."""

    http_port: int = Field(default=8080, ge=0, le=65535)
    console_ingest_url: str = Field(default="http://127.0.0.1:8081", description="Ingest's API.")
    console_registry_url: str = Field(
        default="http://127.0.0.1:8082", description="The registry's API (devices, admin)."
    )
    console_tracker_url: str = Field(
        default="http://127.0.0.1:8088", description="The tracker's API (status, timelines)."
    )
    console_badge_url: str = Field(
        default="http://127.0.0.1:8084", description="Badge-count's API (a user's badge)."
    )
    console_session_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Fernet keys sealing the session cookie, newest first (older ones still "
        "open cookies, for rotation). Empty: a key made at start-up (sessions end on restart).",
    )
    console_session_hours: float = Field(
        default=8, gt=0, le=24 * 30, description="A sign-in lasts this long."
    )
    console_secure_cookie: bool = Field(
        default=False,
        description="Mark the session cookie Secure (the console served behind HTTPS).",
    )
    console_request_timeout_seconds: float = Field(default=10, gt=0, le=120)
    console_htmx_file: Path = Field(
        default=DEFAULT_HTMX, description="htmx.min.js, served by the console itself (no CDN)."
    )
