"""``make lint``'s check of deploy/: prints each problem and exits 1 if there is any."""

from __future__ import annotations

import sys

from tests.deploy import herald_rules, schemas
from tests.deploy.tools import COMPOSE_FILE, ROOT, ToolMissing, load_yaml, overlays, render


def problems() -> tuple[list[str], list[str]]:
    """(what was checked, every problem found), one line each."""
    checked: list[str] = []
    found = [
        f"{COMPOSE_FILE.relative_to(ROOT)}: {p}"
        for p in schemas.compose_problems(load_yaml(COMPOSE_FILE))
    ]
    checked.append(f"{COMPOSE_FILE.relative_to(ROOT)} against the Compose specification")
    for overlay in overlays():
        label = str(overlay.relative_to(ROOT))
        try:
            manifests = render(overlay)
        except ValueError as error:
            found.append(str(error))
            continue
        for where, problem in [
            *schemas.problems_of(manifests),
            *herald_rules.scaling_problems(manifests),
        ]:
            found.append(f"{label}: {where}: {problem}")
        kinds = sorted({m["kind"] for m in manifests})
        checked.append(f"{label}: {len(manifests)} manifests ({', '.join(kinds)})")
    return checked, found


def main() -> int:
    try:
        checked, found = problems()
    except ToolMissing as error:
        print(f"deploy check: {error}")
        return 1
    for line in found:
        print(f"deploy check: {line}")
    if found:
        return 1
    for line in checked:
        print(f"deploy check: valid: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
