"""The one-shot steps of deploy/ run for real: compose's `prepare` (the same commands as the
Kubernetes herald-prepare Job: topics, then each schema's migrations) on an empty database, then
its `trial-setup`, twice, as `docker compose up` would on a second start."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from shared.embedded.brokers import LocalBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.secrets import new_secrets_key
from tests.deploy.herald_rules import containers
from tests.deploy.tools import COMPOSE_FILE, OVERLAYS, ROOT, load_yaml, render
from tests.support.brokers import ON_KAFKA
from tests.support.scheduler import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SCHEMAS = {
    "ingest": "ingest",
    "registry": "registry",
    "scheduler": "scheduler",
    "badge_count": "badge_count",
}


def compose_steps(service: str) -> list[list[str]]:
    """The commands a compose service runs, one list per step of its `sh -c` chain."""
    command = load_yaml(COMPOSE_FILE)["services"][service]["command"]
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(step) for step in command[2].split("&&")]
    return [command]


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    executable = {"python": sys.executable, "herald": str(Path(sys.executable).parent / "herald")}
    argv = [executable.get(command[0], command[0]), *command[1:]]
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_prepare_job_runs_what_compose_prepare_runs() -> None:
    job = next(m for m in render(OVERLAYS / "dev") if m["kind"] == "Job")

    assert [c["command"] for c in containers(job)] == compose_steps("prepare")


async def test_prepare_then_trial_setup_on_an_empty_database(
    broker: LocalBroker, postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    dsn = await fresh_database(postgres.dsn)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HERALD_KAFKA_BOOTSTRAP": broker.bootstrap,
        "HERALD_KAFKA_IDEMPOTENCE": str(ON_KAFKA).lower(),
        "HERALD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}.",
        "HERALD_DATABASE_DSN": dsn,
        "HERALD_SECRETS_KEYS": json.dumps([new_secrets_key()]),
    }
    for step in compose_steps("prepare"):
        done = run(step, env)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"

    conn = await asyncpg.connect(dsn)
    try:
        for package, schema in SCHEMAS.items():
            applied = await conn.fetchval(f'SELECT count(*) FROM "{schema}".schema_migrations')  # noqa: S608
            files = list((ROOT / "services" / package / "migrations").glob("*.sql"))
            assert applied == len(files), schema
    finally:
        await conn.close()

    setup = [
        part.replace("/trial", str(tmp_path / "trial")) for part in compose_steps("trial-setup")[0]
    ]
    first, again = run(setup, env), run(setup, env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "app 'demo' created" in first.stdout
    assert "export HERALD_KEY=" in first.stdout
    assert (tmp_path / "trial" / "apns" / "AuthKey_TRIALKEY01.p8").exists()
    assert (tmp_path / "trial" / "tls" / "server.crt").exists()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "set up already" in again.stdout
