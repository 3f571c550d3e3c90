"""Each manifest against its published schema: the Compose specification's JSON Schema (shipped in
check-jsonschema), Kubernetes' own (kubernetes-validate, strict: an unknown field is an error), and
KEDA's CRDs, made strict the same way (the API server's strict field validation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import kubernetes_validate

from tests.deploy.tools import Manifest, keda_crd, load_yaml

#: The oldest Kubernetes the manifests are for and the newest the validator knows: both must pass.
KUBERNETES_VERSIONS = ("1.29", "1.37")
#: Kinds whose schema is a KEDA CRD, by the CRD file's name.
KEDA_KINDS = {"ScaledObject": "scaledobjects", "TriggerAuthentication": "triggerauthentications"}


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top)"


@cache
def _compose_validator() -> jsonschema.protocols.Validator:
    schema_file = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def compose_problems(document: Any) -> list[str]:
    """Where a Compose file breaks the Compose specification."""
    errors = sorted(_compose_validator().iter_errors(document), key=lambda e: list(e.path))
    return [f"{_where(error)}: {error.message}" for error in errors]


def kubernetes_problems(manifest: Manifest) -> list[str]:
    """Where one rendered manifest breaks its kind's schema, in every version we support."""
    kind = manifest.get("kind", "?")
    if kind in KEDA_KINDS:
        return keda_problems(manifest)
    problems = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"Kubernetes {version}: {_where(error)}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(error.message)
    return problems


def keda_problems(manifest: Manifest) -> list[str]:
    """Where a KEDA object breaks the CRD of its kind and version."""
    validator = _keda_validator(KEDA_KINDS[manifest["kind"]], manifest.get("apiVersion", ""))
    if validator is None:
        return [f"KEDA has no {manifest['kind']} in {manifest.get('apiVersion')!r}"]
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    return [f"KEDA CRD: {_where(error)}: {error.message}" for error in errors]


@cache
def _keda_validator(crd_name: str, api_version: str) -> jsonschema.protocols.Validator | None:
    crd = load_yaml(keda_crd(crd_name))
    group = crd["spec"]["group"]
    for version in crd["spec"]["versions"]:
        if f"{group}/{version['name']}" == api_version and version.get("served", True):
            schema = strict(version["schema"]["openAPIV3Schema"])
            return jsonschema.Draft7Validator(schema)
    return None


def strict(node: Any) -> Any:
    """A CRD's OpenAPI schema as a JSON Schema that refuses fields it does not name.

    Kubernetes extensions become plain JSON Schema: int-or-string, nullable. Objects that keep
    unknown fields (x-kubernetes-preserve-unknown-fields) or declare additionalProperties stay open.
    """
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: strict(value) for key, value in node.items()}
    if schema.pop("x-kubernetes-int-or-string", False):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    closed = not schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in schema and "additionalProperties" not in schema and closed:
        schema["additionalProperties"] = False
    return schema


def problems_of(manifests: list[Manifest]) -> Iterator[tuple[str, str]]:
    """(``kind/name``, problem) for each schema problem of ``manifests``."""
    for manifest in manifests:
        name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        for problem in kubernetes_problems(manifest):
            yield name, problem
