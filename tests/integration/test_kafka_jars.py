"""Apache Kafka's jars on a fresh machine: processes that start Kafka at once (the test workers of
``make test-kafka`` on a fresh clone) fetch them once between them, and all of them run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]

#: Four at once: without the lock, two of the four failed in two runs of three (mvn's copy into
#: the shared folder failed, as it did for CI's two workers).
STARTING = 4
FETCH = (
    "import sys; from pathlib import Path; from shared.embedded.kafka import kafka_libs; "
    "print(kafka_libs(Path(sys.argv[1])))"
)


def test_processes_fetching_the_jars_at_once_all_get_them(tmp_path: Path) -> None:
    folder = tmp_path / "apache-kafka"
    fetching = [
        subprocess.Popen(
            [sys.executable, "-c", FETCH, str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(STARTING)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in fetching]

    assert [process.returncode for process in fetching] == [0] * STARTING, outputs
    assert all(output.strip() == str(folder) for output in outputs), outputs
    assert any(jar.name.startswith("kafka-server-") for jar in folder.glob("*.jar"))
