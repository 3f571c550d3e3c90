"""Content's checks accept and refuse exactly what they did before their fast paths: the rules as
they stood are kept below as the oracle, and random contents must fare the same under both."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError, field_validator, model_validator

from contracts.content import RESERVED_DATA_KEYS, RESERVED_DATA_PREFIXES, Action, Content
from contracts.locales import normalise


class ReferenceContent(Content):
    """Content with its checks as they were written before the fast paths."""

    @field_validator("localized", mode="before")
    @classmethod
    def _one_variant_per_locale(cls, localized: object) -> object:
        if isinstance(localized, dict):
            seen: dict[str, str] = {}
            for key in localized:
                try:
                    tag = normalise(key) if isinstance(key, str) else None
                except ValueError:
                    continue
                if tag is not None and tag in seen:
                    raise ValueError(f"{seen[tag]!r} and {key!r} are both the locale {tag}")
                if tag is not None:
                    seen[tag] = key
        return localized

    @field_validator("actions")
    @classmethod
    def _unique_action_ids(cls, actions: list[Action]) -> list[Action]:
        ids = [action.id for action in actions]
        twice = sorted({item for item in ids if ids.count(item) > 1})
        if twice:
            raise ValueError(f"action ids must differ; repeated: {', '.join(twice)}")
        return actions

    @model_validator(mode="after")
    def _variants_and_actions_on_visible_pushes(self) -> ReferenceContent:
        if (self.localized or self.actions) and not self.visible:
            raise ValueError(
                "localized and actions need a visible notification: a default title or body "
                "(or a localization key) for devices no variant fits"
            )
        if self.actions and self.category is None:
            raise ValueError(
                "actions need category: iOS shows buttons only from the notification category "
                "the app registered (UNNotificationCategory) under that identifier"
            )
        ids = {action.id for action in self.actions}
        for tag, text in self.localized.items():
            named = set(text.action_titles)
            if named and named != ids:
                missing, unknown = sorted(ids - named), sorted(named - ids)
                raise ValueError(
                    f"localized.{tag}.action_titles must name every button of actions, and only "
                    f"those (missing: {', '.join(missing) or 'none'}; not in actions: "
                    f"{', '.join(unknown) or 'none'}), so one notification shows one language"
                )
        return self

    @field_validator("data")
    @classmethod
    def _no_reserved_keys(cls, data: dict[str, str]) -> dict[str, str]:
        for key in data:
            if key in RESERVED_DATA_KEYS or key.lower().startswith(RESERVED_DATA_PREFIXES):
                reserved = ", ".join(sorted(RESERVED_DATA_KEYS))
                prefixes = ", ".join(RESERVED_DATA_PREFIXES)
                raise ValueError(
                    f"data key {key!r} is reserved (reserved keys: {reserved}; "
                    f"reserved prefixes: {prefixes})"
                )
        return data


ACTION_IDS = st.sampled_from(["open", "track", "later", "bad id"])
TAGS = st.sampled_from(["fr", "FR", "pt-BR", "pt_br", "pt", "zh-Hant-TW", "x", "en-US"])
TEXT = st.one_of(st.none(), st.sampled_from(["", "Hi", "Salut"]))
DATA_KEYS = st.sampled_from(["order", "from", "Google.x", "GCMish", "heraldic", "notification", ""])
VARIANT = st.fixed_dictionaries(
    {},
    optional={
        "title": TEXT,
        "body": TEXT,
        "action_titles": st.dictionaries(ACTION_IDS, st.sampled_from(["Open", ""]), max_size=4),
    },
)
CONTENT = st.fixed_dictionaries(
    {},
    optional={
        "title": TEXT,
        "body": TEXT,
        "body_loc_key": st.sampled_from(["KEY", ""]),
        "category": st.sampled_from(["ORDER", ""]),
        "data": st.dictionaries(DATA_KEYS, st.just("v"), max_size=3),
        "localized": st.dictionaries(TAGS, VARIANT, max_size=3),
        "actions": st.lists(
            st.fixed_dictionaries({"id": ACTION_IDS, "title": st.sampled_from(["Go", ""])}),
            max_size=4,
        ),
    },
)


def verdict(model: type[Content], raw: dict[str, Any]) -> object:
    try:
        return model.model_validate(raw).model_dump()
    except ValidationError as error:
        return [(item["type"], item["loc"], item["msg"]) for item in error.errors()]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONTENT)
def test_content_is_accepted_and_refused_as_before(raw: dict[str, Any]) -> None:
    assert verdict(Content, raw) == verdict(ReferenceContent, raw)


BUTTONS = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["open", "track", "later"]), "title": st.just("Go")}
    ),
    max_size=3,
    unique_by=lambda action: action["id"],
)
NAMED = st.dictionaries(st.sampled_from(["open", "track", "later"]), st.just("Open"), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BUTTONS, st.dictionaries(st.sampled_from(["fr", "pt-BR", "de"]), NAMED, max_size=2))
def test_button_titles_of_variants_are_checked_as_before(
    actions: list[dict[str, str]], named: dict[str, dict[str, str]]
) -> None:
    raw = {
        "title": "Hi",
        "category": "ORDER",
        "actions": actions,
        "localized": {
            tag: {"title": "Salut", "action_titles": titles} for tag, titles in named.items()
        },
    }

    assert verdict(Content, raw) == verdict(ReferenceContent, raw)


def test_the_oracle_runs_its_own_checks() -> None:
    refused = verdict(ReferenceContent, {"data": {"from": "x"}})
    assert isinstance(refused, list)
    assert "data key 'from' is reserved" in refused[0][2]
