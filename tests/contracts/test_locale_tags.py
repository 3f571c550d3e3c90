"""The cached ``normalise`` gives every tag the uncached rule gave, and refuses the same tags with
the same message, however often a tag comes back."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.locales import normalise

_SEPARATOR = re.compile(r"[-_]")
_WELL_FORMED = re.compile(
    r"[a-z]{2,3}(-[a-z]{4})?(-(?:[a-z]{2}|[0-9]{3}))?(-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
)


def reference(tag: str) -> str:
    """The rule as it stood before the cache, kept as the oracle."""
    lowered = _SEPARATOR.sub("-", tag).lower()
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


def outcome(rule: object, tag: str) -> tuple[str, str]:
    assert callable(rule)
    try:
        return ("ok", rule(tag))
    except ValueError as error:
        return ("refused", str(error))


SUBTAG = st.text(alphabet="abcXYZ019İK", min_size=1, max_size=9)
TAGS = st.one_of(
    st.lists(SUBTAG, min_size=1, max_size=4).flatmap(
        lambda parts: st.sampled_from(["-", "_"]).map(lambda sep: sep.join(parts))
    ),
    st.sampled_from(
        ["fr", "pt_br", "PT-br", "zh-hant-tw", "sl-rozaj-1994", "en-419", "de-CH-1901"]
    ),
    st.text(max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(TAGS)
def test_the_cached_rule_answers_as_the_uncached_one_each_time(tag: str) -> None:
    expected = outcome(reference, tag)
    assert outcome(normalise, tag) == expected
    assert outcome(normalise, tag) == expected
