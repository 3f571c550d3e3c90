"""An audience as a SQL condition on a device row ``d``: what the streaming query pages through.

Every value travels as a query parameter; only fixed SQL text is assembled here. The condition
is tested on each device row that the page's keyset scan of the app's active devices reaches, so
a stream reads the app's devices at most once, whatever the audience.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from contracts import conditions
from contracts.audiences import Audience, Segment

#: Numbers of the parameters the streaming query itself takes ($1 app, $2 cursor, $3 page size).
FIRST_PARAMETER = 4

#: A device is subscribed to a topic when it is, or when its user is: a subscribed user's
#: every active device counts, those registered after the subscription too.
_SUBSCRIBED = (
    "(EXISTS (SELECT 1 FROM topic_subscriptions s"
    " WHERE s.device_id = d.device_id AND s.topic = {topic})"
    " OR EXISTS (SELECT 1 FROM user_topic_subscriptions u"
    " WHERE u.app_id = d.app_id AND u.user_id = d.user_id AND u.topic = {topic}))"
)
_ZONE_IN = (
    "COALESCE((SELECT p.time_zone FROM user_preferences p"
    " WHERE p.app_id = d.app_id AND p.user_id = d.user_id), d.time_zone) = ANY({}::text[])"
)
_USER_TAGGED = (
    "EXISTS (SELECT 1 FROM user_tags t"
    " WHERE t.app_id = d.app_id AND t.user_id = d.user_id AND t.tags @> {}::jsonb)"
)
_DEVICE_TAGGED = (
    "EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.device_id AND t.tags @> {}::jsonb)"
)
_NORMAL_LOCALE = "lower(replace(d.locale, '_', '-'))"
_DOTTED = r"'^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$'"


@dataclass
class Predicate:
    """SQL text over ``d`` and the parameters it refers to, numbered from FIRST_PARAMETER."""

    params: list[object] = field(default_factory=list)

    def param(self, value: object) -> str:
        self.params.append(value)
        return f"${FIRST_PARAMETER + len(self.params) - 1}"


def predicate(audience: Audience, now: datetime) -> tuple[str, list[object]]:
    """The SQL condition matching ``audience``'s devices and its parameters (user ids are not
    streamed: ingest expands them)."""
    built = Predicate()
    if audience.device_ids is not None:
        sql = f"d.device_id = ANY({built.param(audience.device_ids)}::uuid[])"
    elif audience.topic is not None:
        sql = _condition(conditions.Subscribed(audience.topic), built)
    elif audience.condition is not None:
        sql = _condition(conditions.parse(audience.condition), built)
    elif audience.segment is not None:
        sql = _segment(audience.segment, now, built)
    elif audience.all:
        sql = "true"
    else:
        raise ValueError(f"a {audience.kind} audience is not streamed")
    return sql, built.params


def _condition(condition: conditions.Condition, built: Predicate) -> str:
    if isinstance(condition, conditions.Subscribed):
        return _SUBSCRIBED.format(topic=built.param(condition.topic))
    joiner = " AND " if isinstance(condition, conditions.AllOf) else " OR "
    return "(" + joiner.join(_condition(part, built) for part in condition.parts) + ")"


def _segment(segment: Segment, now: datetime, built: Predicate) -> str:
    parts: list[str] = []
    if segment.platforms is not None:
        parts.append(f"d.platform = ANY({built.param(segment.platforms)}::text[])")
    if segment.locales is not None:
        locales = built.param(segment.locales)
        parts.append(
            f"({_NORMAL_LOCALE} = ANY({locales}::text[])"
            f" OR split_part({_NORMAL_LOCALE}, '-', 1) = ANY({locales}::text[]))"
        )
    if segment.app_versions is not None:
        parts.append(f"d.app_version = ANY({built.param(segment.app_versions)}::text[])")
    if segment.min_app_version is not None:
        least = [int(number) for number in segment.min_app_version.split(".")]
        parts.append(
            f"(CASE WHEN d.app_version ~ {_DOTTED}"
            " THEN string_to_array(d.app_version, '.')::bigint[] END)"
            f" >= {built.param(least)}::bigint[]"
        )
    if segment.time_zones is not None:
        parts.append(_ZONE_IN.format(built.param(segment.time_zones)))
    if segment.last_seen_within_days is not None:
        since = now - timedelta(days=segment.last_seen_within_days)
        parts.append(f"d.last_registered_at >= {built.param(since)}")
    if segment.user_tags is not None:
        parts.append(_USER_TAGGED.format(built.param(json.dumps(segment.user_tags))))
    if segment.device_tags is not None:
        parts.append(_DEVICE_TAGGED.format(built.param(json.dumps(segment.device_tags))))
    return "(" + " AND ".join(parts) + ")"
