"""``herald categories create`` turns its flags into a category, refusing half a cap."""

from __future__ import annotations

import pytest

from contracts.categories import Category, FrequencyCap
from services.registry.apps.cli import checked_category, parser
from services.registry.apps.domain import AdminError

pytestmark = pytest.mark.unit


def parsed(*argv: str) -> Category:
    return checked_category(parser().parse_args(["categories", "create", "shop", *argv]))


def test_flags_make_the_category() -> None:
    assert parsed(
        "deals", "--name", "Deals", "--off-by-default", "--cap", "3", "--window", "86400"
    ) == (
        Category(
            category_id="deals",
            name="Deals",
            default_enabled=False,
            cap=FrequencyCap(limit=3, window_seconds=86400),
        )
    )
    assert parsed("news") == Category(category_id="news")


@pytest.mark.parametrize(
    "argv",
    [
        ("deals", "--cap", "3"),
        ("deals", "--window", "60"),
        ("Deals!",),
        ("d", "--cap", "0", "--window", "60"),
    ],
)
def test_bad_flags_are_refused(argv: tuple[str, ...]) -> None:
    with pytest.raises(AdminError):
        parsed(*argv)
