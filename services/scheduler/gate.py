"""The last look before a copy goes out: the user's category opt-outs and the category's cap.

Runs inside the release transaction, after the copies are claimed: choices are read as they are
at release (a user who opted out after a push was scheduled does not get it), and pushes counted
against caps commit only with the release that sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from contracts.notifications import UserNotification, WithholdReason
from services.scheduler import frequency_store, withholding
from services.scheduler.preferences_store import category_choices
from shared.db import Connection


async def withheld_reasons(
    conn: Connection, copies: Sequence[UserNotification], now: datetime
) -> list[WithholdReason | None]:
    """Per copy, in order: None to send it, else why it is withheld; counts what is sent."""
    gated = [c for c in copies if c.category is not None and not c.transactional]
    if not gated:
        return [None] * len(copies)
    choices = await category_choices(conn, {(c.app_id, c.user_id) for c in gated})
    caps = [
        (key, cap)
        for c in gated
        if (key := withholding.cap_key(c)) and (cap := withholding.cap_of(c))
    ]
    ledger: dict[withholding.CapKey, list[withholding.Counted]] = {}
    if caps:
        await frequency_store.lock_caps(conn, [key for key, _ in caps])
        longest = max(cap.window_seconds for _, cap in caps)
        since = now - timedelta(seconds=longest)
        ledger = await frequency_store.counted_since(conn, [key for key, _ in caps], since)
    verdicts = withholding.judge(copies, choices, ledger, now)
    await frequency_store.count(conn, verdicts.newly_counted)
    return verdicts.reasons
