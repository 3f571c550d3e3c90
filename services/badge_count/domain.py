"""Badge arithmetic. Pure: the store applies these rules inside one transaction per batch."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.content import Content


@dataclass(frozen=True)
class BadgeState:
    """A user's unread count and the sequence number of its latest change."""

    unread: int
    seq: int


def counts_toward_badge(content: Content) -> bool:
    """Visible pushes add one unread; silent data pushes leave the badge alone."""
    return content.visible


def after_new_notification(state: BadgeState, counts: bool) -> BadgeState:
    """The state once a not-yet-counted notification arrives."""
    if not counts:
        return state
    return BadgeState(unread=state.unread + 1, seq=state.seq + 1)
