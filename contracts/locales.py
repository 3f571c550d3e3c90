"""Language tags (BCP 47) as Herald keys localized text by, and the lookup that picks a device's.

Senders key variants by well-formed tags (language, then optional script, region and variants:
``fr``, ``pt-BR``, ``zh-Hant-TW``), normalised to the case RFC 5646 recommends so ``pt_br`` and
``pt-BR`` name one variant. Devices report locales as their OS spells them (``en_US``), so the
lookup compares case-insensitively and reads ``_`` as ``-``. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

#: language (2-3 letters), script (4 letters), region (2 letters or 3 digits), variants (5-8
#: letters or digits, or a digit and 3 more): RFC 5646 section 2.1 without extensions and
#: private use, which no platform reports as a device's locale.
_WELL_FORMED = re.compile(
    r"[a-z]{2,3}(-[a-z]{4})?(-(?:[a-z]{2}|[0-9]{3}))?(-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
)


#: Tags this long or shorter are cached; a variant's key may be no longer (contracts.content), but
#: its raw keys are normalised before that limit refuses a longer one.
MAX_CACHED_TAG_CHARS = 35


def normalise(tag: str) -> str:
    """``tag`` in RFC 5646's recommended case (``pt-BR``, ``zh-Hant``); raise ValueError when it
    is not a well-formed language tag.

    Short tags are cached: every internal hop validates the variants' keys again, and an app uses
    a few dozen tags. A refused tag is not cached (its error is raised afresh), nor is a long one,
    so refused requests cannot fill the cache with their keys.
    """
    if len(tag) <= MAX_CACHED_TAG_CHARS:
        return _normalised_short(tag)
    return _normalised(tag)


def _normalised(tag: str) -> str:
    lowered = tag.replace("_", "-").lower()
    if not _WELL_FORMED.fullmatch(lowered):
        raise ValueError(f"{tag!r} is not a BCP 47 language tag (such as fr, pt-BR or zh-Hant-TW)")
    language, *rest = lowered.split("-")
    subtags = [language]
    for subtag in rest:
        if len(subtag) == 4 and subtag.isalpha():
            subtags.append(subtag.title())
        elif len(subtag) == 2:
            subtags.append(subtag.upper())
        else:
            subtags.append(subtag)
    return "-".join(subtags)


_normalised_short = lru_cache(maxsize=4096)(_normalised)


def lookup(available: Iterable[str], *wanted: str | None) -> str | None:
    """The tag of ``available`` that best serves the first of ``wanted`` it can, else None.

    Each wanted locale is tried whole, then with its last subtag dropped, down to its language
    (RFC 4647 "lookup"): a ``pt-BR`` device gets ``pt-BR``, else ``pt``; only then is the next
    wanted locale tried (the device's, then its user's).
    """
    by_key = {tag.lower(): tag for tag in available}
    for locale in wanted:
        if not locale:
            continue
        subtags = locale.replace("_", "-").lower().split("-")
        for end in range(len(subtags), 0, -1):
            found = by_key.get("-".join(subtags[:end]))
            if found is not None:
                return found
    return None
