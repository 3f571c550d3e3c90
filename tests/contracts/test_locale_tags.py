"""Language tags are normalised and looked up as the rules first written (kept below as oracles)
did: the cached ``normalise`` gives and refuses the same tags with the same messages, however
often a tag comes back, and ``lookup`` and ``Content.variant_for`` pick the same variant."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import locales
from contracts.content import Content, LocalizedText
from contracts.locales import lookup, normalise

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


def reference_lookup(available: Iterable[str], *wanted: str | None) -> str | None:
    """The lookup as it stood before it split on ``str.replace``, kept as the oracle."""
    by_key = {tag.lower(): tag for tag in available}
    for locale in wanted:
        if not locale:
            continue
        subtags = _SEPARATOR.sub("-", locale).lower().split("-")
        for end in range(len(subtags), 0, -1):
            found = by_key.get("-".join(subtags[:end]))
            if found is not None:
                return found
    return None


VARIANT_TAGS = st.sampled_from(["fr", "pt", "pt-BR", "zh-Hant", "zh-Hant-TW", "en-419", "de"])
WANTED = st.one_of(
    st.none(),
    st.sampled_from(["", "pt_BR", "PT-br", "zh_hant_tw", "en_US", "fr-CA", "de_CH_1901", "-"]),
    st.text(alphabet="ptbrBR-_ ", max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(st.sets(VARIANT_TAGS, max_size=4), st.lists(WANTED, max_size=3))
def test_lookup_picks_what_the_first_lookup_picked(
    available: set[str], wanted: list[str | None]
) -> None:
    expected = reference_lookup(available, *wanted)
    assert lookup(available, *wanted) == expected
    content = Content(title="Hi", localized={tag: LocalizedText(title=tag) for tag in available})
    assert content.variant_for(*wanted) == expected


def test_a_refused_long_key_is_not_kept_by_the_cache() -> None:
    long_tag = "en-" + "-".join(f"v{n:07d}" for n in range(2_000))
    cache = locales._normalised_short
    cache.cache_clear()

    with pytest.raises(ValidationError, match="at most 35 characters"):
        Content.model_validate({"title": "Hi", "localized": {long_tag: {"title": "Hi"}}})
    normalise("pt_br")

    assert normalise(long_tag) == long_tag
    assert cache.cache_info().currsize == 1
