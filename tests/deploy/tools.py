"""Where the deploy checks find what the Makefile fetched (kustomize, KEDA's CRDs), and rendering.

`make lint` builds kustomize from the Go module proxy and copies KEDA's CRDs out of its Go module
into ``$(VENV)/deploy-tools`` once; ``HERALD_DEPLOY_TOOLS`` points elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = DEPLOY / "k8s" / "overlays"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"

Manifest = dict[str, Any]


class ToolMissing(RuntimeError):
    """A tool the Makefile installs is not there: the message says how to get it."""


def tools_folder() -> Path:
    return Path(os.environ.get("HERALD_DEPLOY_TOOLS", Path(sys.prefix) / "deploy-tools"))


def _installed(path: Path) -> Path:
    if not path.exists():
        raise ToolMissing(f"{path} is missing: `make lint` installs it (Go needed, once)")
    return path


def kustomize() -> Path:
    return _installed(tools_folder() / "bin" / "kustomize")


def keda_crd(name: str) -> Path:
    """KEDA's CRD file for ``name`` (``scaledobjects``, ``triggerauthentications``)."""
    return _installed(tools_folder() / "keda" / f"keda.sh_{name}.yaml")


def overlays() -> list[Path]:
    """Every overlay under deploy/k8s/overlays."""
    return sorted(path.parent for path in OVERLAYS.glob("*/kustomization.yaml"))


def render(folder: Path) -> list[Manifest]:
    """The manifests kustomize renders from ``folder``; a kustomize error raises with its text."""
    done = subprocess.run(
        [str(kustomize()), "build", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"kustomize build {folder.relative_to(ROOT)}: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())
