"""The deploy check catches what it is for: a misspelt field, a wrong type, an autoscaler that no
longer follows its consumer; and every command the image, compose and Kubernetes run exists.

Needs the tools `make lint` installs (kustomize, KEDA's CRDs; tests/deploy/tools.py)."""

from __future__ import annotations

import copy
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import herald_rules, schemas
from tests.deploy.tools import COMPOSE_FILE, DOCKERFILE, OVERLAYS, ROOT, Manifest, load_yaml, render

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def prod() -> list[Manifest]:
    return render(OVERLAYS / "prod")


@pytest.fixture(scope="module")
def dev() -> list[Manifest]:
    return render(OVERLAYS / "dev")


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    return next(m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name)


def test_the_shipped_manifests_pass_both_checks(prod: list[Manifest], dev: list[Manifest]) -> None:
    for manifests in (prod, dev):
        assert list(schemas.problems_of(manifests)) == []
        assert list(herald_rules.scaling_problems(manifests)) == []
    assert schemas.compose_problems(load_yaml(COMPOSE_FILE)) == []


def test_a_misspelt_deployment_field_fails(prod: list[Manifest]) -> None:
    deployment = copy.deepcopy(find(prod, "Deployment", "dispatcher-fcm"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")

    problems = schemas.kubernetes_problems(deployment)

    assert len(problems) == len(schemas.KUBERNETES_VERSIONS)
    assert all("'readinesProbe' was unexpected" in problem for problem in problems)


def test_a_scaledobject_with_a_wrong_type_or_unknown_field_fails(prod: list[Manifest]) -> None:
    scaled = copy.deepcopy(find(prod, "ScaledObject", "dispatcher-apns"))
    scaled["spec"]["maxReplicaCount"] = "32"
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 2000
    scaled["spec"]["coolDownPeriod"] = scaled["spec"].pop("cooldownPeriod")

    problems = schemas.kubernetes_problems(scaled)

    assert any("spec.maxReplicaCount: '32' is not of type 'integer'" in p for p in problems)
    assert any("lagThreshold: 2000 is not of type 'string'" in p for p in problems)
    assert any("'coolDownPeriod' was unexpected" in p for p in problems)


def test_a_compose_service_with_an_unknown_key_fails() -> None:
    compose = load_yaml(COMPOSE_FILE)
    compose["services"]["ingest"]["healthckeck"] = compose["services"]["ingest"].pop("healthcheck")

    assert any("'healthckeck' was unexpected" in p for p in schemas.compose_problems(compose))


def test_an_autoscaler_must_follow_the_partitions_and_the_consumer(prod: list[Manifest]) -> None:
    changed = copy.deepcopy(prod)
    config = find(changed, "ConfigMap", "herald-config")
    config["data"]["HERALD_KAFKA_PARTITIONS"] = json.dumps({"push.fcm": 12})
    find(changed, "ScaledObject", "registry")["spec"]["triggers"][0]["metadata"][
        "consumerGroup"
    ] = "registry"

    problems = dict(herald_rules.scaling_problems(changed))

    assert "push.fcm has 12 partitions" in problems["ScaledObject/dispatcher-fcm"]
    assert "'registry'; the service uses 'registry-fanout'" in problems["ScaledObject/registry"]
    assert "ScaledObject/dispatcher-apns" in problems  # 32 replicas, push.apns back to 8


def test_the_hpa_fallback_is_held_to_the_same_ceiling(dev: list[Manifest]) -> None:
    changed = copy.deepcopy(dev)
    find(changed, "HorizontalPodAutoscaler", "scheduler")["spec"]["maxReplicas"] = 20

    problems = dict(herald_rules.scaling_problems(changed))

    assert "notifications.user has 8 partitions" in problems["HorizontalPodAutoscaler/scheduler"]


def every_command(prod: list[Manifest], dev: list[Manifest]) -> set[tuple[str, ...]]:
    """Each distinct command the Dockerfile, the compose file and the overlays run."""
    found: set[tuple[str, ...]] = set()
    for _, command in [*herald_rules.commands(prod), *herald_rules.commands(dev)]:
        found.add(tuple(command))
    for service in load_yaml(COMPOSE_FILE)["services"].values():
        command = service.get("command")
        if command and command[:2] == ["sh", "-c"]:
            found.update(tuple(shlex.split(step)) for step in command[2].split("&&"))
        elif command:
            found.add(tuple(command))
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("CMD "):
            found.add(tuple(json.loads(line.removeprefix("CMD "))))
    return found


def answers_help(command: tuple[str, ...]) -> tuple[tuple[str, ...], int, str]:
    """Run ``command --help`` here as the image would (python and herald from this venv)."""
    executable = {"python": sys.executable, "herald": str(Path(sys.executable).parent / "herald")}
    argv = [executable.get(command[0], command[0]), *command[1:], "--help"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return command, done.returncode, done.stdout + done.stderr


def test_every_command_the_deployment_runs_exists_and_answers(
    prod: list[Manifest], dev: list[Manifest]
) -> None:
    commands = every_command(prod, dev)
    # The emulators serve as soon as they start (they take no arguments): that their module is
    # there is what can be checked without serving; every e2e test runs them.
    emulators = {c for c in commands if c[:2] == ("python", "-m") and "emulators" in c[2]}
    assert len(emulators) == 3
    for command in emulators:
        assert (ROOT / Path(*command[2].split(".")) / "__main__.py").exists(), command
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(answers_help, sorted(commands - emulators)))

    assert len(results) >= 10
    for command, returncode, output in results:
        assert returncode == 0, f"{' '.join(command)} --help: {output}"
        assert "usage:" in output, command


def test_containers_are_locked_down(prod: list[Manifest]) -> None:
    workloads = [m for m in prod if m["kind"] in {"Deployment", "Job"}]
    assert len(workloads) == 11  # ten Deployments and the prepare Job
    for workload in workloads:
        pod: dict[str, Any] = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in herald_rules.containers(workload):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]
