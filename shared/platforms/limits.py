"""The provider rules and payload limits ingest checks before anything is queued, with the
renderers that send.

Ingest does not know the user's devices, so a request must pass every platform. Each platform's
real renderer makes the push the request becomes, which is checked against the provider's own
rules (those its emulator applies: header values, priorities by push type, Google's schema); then
it sizes the largest push the content can become, in its default text and in each localized
variant — the badge and its sequence at the largest
values Herald stores, and on FCM the longest Android channel id settings allow; every
notification id has the same length — so what passes here is never refused by a provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from contracts.content import Content, DeliveryOptions
from contracts.push import PushRequest
from shared.platforms import PLATFORMS
from shared.platforms.base import Breach, PayloadError

#: The largest values badge-count attaches: the unread count is a PostgreSQL integer, its
#: sequence a bigint.
MAX_BADGE = 2**31 - 1
MAX_BADGE_SEQ = 2**63 - 1
#: Sizes do not depend on the time (TTLs travel in headers), so any fixed time will do.
_WHEN = datetime(2026, 1, 1, tzinfo=UTC)
_ID = uuid.UUID(int=0)


def carries_badge(content: Content, options: DeliveryOptions) -> bool:
    """True when badge-count attaches a badge to the push (the badge rule of badge-count's domain:
    a number, ``increment``, or ``auto`` on a visible push): on APNs it decides between an alert
    and a background push."""
    rule = options.badge
    return isinstance(rule, int) or rule == "increment" or (rule == "auto" and content.visible)


def largest_push(
    content: Content, options: DeliveryOptions, locale: str | None = None
) -> PushRequest:
    """The push request with ``content`` (localized for ``locale``) that renders largest on every
    platform."""
    return PushRequest.model_construct(
        event_id=_ID,
        app_id="",
        occurred_at=_WHEN,
        notification_id=_ID,
        user_id="",
        device_id=_ID,
        platform="apns",
        token="",
        content=content,
        locale=locale,
        options=options,
        badge=MAX_BADGE,
        badge_seq=MAX_BADGE_SEQ,
        accepted_at=_WHEN,
    )


def payload_breaches(content: Content, options: DeliveryOptions) -> Iterator[Breach]:
    """What some platform's dispatcher or provider would refuse: its content rules, the provider's
    rules for the push as rendered, then its size limit, for the default text and for each
    localized variant (a breach of a variant names it: ``content.localized.pt-BR``).

    A request that breaks a rule is not sized (the renderer would refuse it before measuring).
    """
    default = content.in_locale(None)
    rules = [breach for p in PLATFORMS.values() for breach in p.content_breaches(default)]
    if not rules:
        sent = largest_push(default, options)
        if not carries_badge(default, options):
            sent = sent.model_copy(update={"badge": None, "badge_seq": None})
        rules = [breach for p in PLATFORMS.values() for breach in p.refusals(sent, _WHEN)]
    if rules:
        yield from _most_precise(rules)
        return
    for locale in (None, *content.localized):
        yield from _size_breaches(largest_push(content.in_locale(locale), options, locale))


def _size_breaches(request: PushRequest) -> Iterator[Breach]:
    field, text = "content", ""
    if request.locale is not None:
        field, text = f"content.localized.{request.locale}", f" in locale {request.locale}"
    for platform in PLATFORMS.values():
        try:
            measure = platform.largest(request, _WHEN)
        except PayloadError as error:
            yield Breach(field, f"cannot be sent through {platform.label}{text}: {error}")
            continue
        if not measure.fits:
            yield Breach(
                field,
                f"renders{text} to up to {measure.size} bytes for {platform.label} "
                f"({measure.counted}); the limit is {measure.limit} bytes",
            )


def _most_precise(breaches: list[Breach]) -> list[Breach]:
    """``breaches`` without those another one names more precisely: one override two providers
    refuse (APNs, and FCM for its apns block) is named once, by its own field."""
    fields = {breach.field for breach in breaches}
    unique = list(dict.fromkeys(breaches))
    return [b for b in unique if not any(f.startswith(f"{b.field}.") for f in fields)]
