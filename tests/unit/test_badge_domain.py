"""Badge arithmetic: visible pushes count, silent ones do not."""

from __future__ import annotations

import pytest

from contracts.content import Content
from services.badge_count.domain import BadgeState, after_new_notification, counts_toward_badge

pytestmark = pytest.mark.unit


def test_visible_push_counts_and_bumps_the_sequence() -> None:
    assert after_new_notification(BadgeState(2, 7), counts=True) == BadgeState(3, 8)


def test_silent_push_leaves_state_alone() -> None:
    assert after_new_notification(BadgeState(2, 7), counts=False) == BadgeState(2, 7)


@pytest.mark.parametrize(
    ("content", "counts"),
    [
        (Content(title="t"), True),
        (Content(body="b"), True),
        (Content(data={"k": "v"}), False),
    ],
)
def test_what_counts(content: Content, counts: bool) -> None:
    assert counts_toward_badge(content) is counts
