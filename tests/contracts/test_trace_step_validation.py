"""``NotificationTraced.step`` validates what it is given exactly as ``model_validate`` does:
the same values come out, the same inputs are refused with the same errors, and unknown fields
nested in a value are ignored as in any internal message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts.base import derived_id
from contracts.content import Content
from contracts.trace import MAX_REASON_CHARS, NotificationTraced

NOTIFICATION = uuid.UUID("33197a62-85c2-521c-95e4-a7b980910a44")
DEVICE = uuid.UUID("0b6c2d1e-6f5a-4b8e-9c3d-7a1f2e4d5c6b")


def reference_step(
    stage: Any,
    *,
    app_id: Any,
    notification_id: uuid.UUID,
    occurred_at: Any,
    user_id: Any = None,
    device_id: Any = None,
    **fields: Any,
) -> NotificationTraced:
    """The step as it was built before it called the compiled validator itself."""
    reason = fields.get("reason")
    if isinstance(reason, str) and len(reason) > MAX_REASON_CHARS:
        fields["reason"] = reason[: MAX_REASON_CHARS - 3] + "..."
    event_id = derived_id(
        "trace",
        notification_id,
        stage,
        user_id,
        device_id,
        fields.get("attempt"),
        fields.get("outcome"),
        *([fields.get("reason")] if stage == "parked" else []),
    )
    validated: NotificationTraced = BaseModel.model_validate.__func__(  # type: ignore[attr-defined]
        NotificationTraced,
        {
            "event_id": event_id,
            "app_id": app_id,
            "occurred_at": occurred_at,
            "notification_id": notification_id,
            "stage": stage,
            "user_id": user_id,
            "device_id": device_id,
            **fields,
        },
        extra="ignore",
    )
    return validated


def verdict(build: Any, stage: Any, fields: dict[str, Any]) -> object:
    try:
        return build(stage, notification_id=NOTIFICATION, **fields).model_dump()
    except ValidationError as error:
        return [(item["type"], item["loc"], item["msg"]) for item in error.errors()]


FIELDS = st.fixed_dictionaries(
    {
        "app_id": st.sampled_from(["shop", "Shop!", ""]),
        "occurred_at": st.sampled_from(
            [datetime(2026, 3, 1, 9, 30, tzinfo=UTC), datetime(2026, 3, 1, 9, 30), "2026-03-01"]
        ),
    },
    optional={
        "user_id": st.sampled_from(["alice", "with space", ""]),
        "device_id": st.sampled_from([DEVICE, "not-a-uuid", str(DEVICE)]),
        "platform": st.sampled_from(["fcm", "apns", "sms"]),
        "outcome": st.sampled_from(["delivered", "failed", "lost"]),
        "reason": st.one_of(st.text(max_size=8), st.text(min_size=499, max_size=503)),
        "attempt": st.integers(min_value=-2, max_value=3),
        "provider_status": st.sampled_from([200, "410", "gone"]),
        "until": st.sampled_from(
            [datetime(2026, 3, 1, 10, tzinfo=UTC) + timedelta(seconds=5), "soon"]
        ),
        "devices": st.dictionaries(st.sampled_from(["fcm", "sms"]), st.integers(-1, 2)),
        "users": st.integers(min_value=-1, max_value=2),
        "content": st.sampled_from(
            [
                Content(title="Hi"),
                {"title": "Hi", "from_a_newer_release": 1},
                {"body": "x" * 2049},
            ]
        ),
        "idempotency_key": st.sampled_from(["k-1", None]),
    },
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["sent", "parked", "accepted", "bogus"]), FIELDS)
def test_a_step_is_validated_as_model_validate_validates_it(
    stage: str, fields: dict[str, Any]
) -> None:
    assert verdict(NotificationTraced.step, stage, dict(fields)) == verdict(
        reference_step, stage, dict(fields)
    )
