"""``derived_id`` is uuid5 over the joined parts in Herald's namespace, bit for bit: ids already
stored and ids computed by older releases must keep matching."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.base import HERALD_NAMESPACE, derived_id

PARTS = st.lists(
    st.one_of(st.text(), st.integers(), st.none(), st.uuids(), st.sampled_from(["trace", "sent"])),
    max_size=8,
)


@settings(max_examples=1000, deadline=None)
@given(PARTS)
def test_a_derived_id_is_the_uuid5_of_its_parts(parts: list[object]) -> None:
    expected = uuid.uuid5(HERALD_NAMESPACE, "/".join(str(p) for p in parts))
    derived = derived_id(*parts)
    assert derived == expected
    assert (derived.version, derived.variant) == (5, uuid.RFC_4122)


def test_a_known_step_keeps_its_id() -> None:
    notification = uuid.UUID("33197a62-85c2-521c-95e4-a7b980910a44")
    derived = derived_id("trace", notification, "sent", "user-42", None, 1, "delivered")
    assert derived == uuid.UUID("4197c887-1be9-5f42-bc84-317980f6a869")


def test_a_part_utf_8_cannot_encode_is_refused_as_uuid5_refuses_it() -> None:
    with pytest.raises(UnicodeEncodeError):
        uuid.uuid5(HERALD_NAMESPACE, "\ud800")
    with pytest.raises(UnicodeEncodeError):
        derived_id("\ud800")
