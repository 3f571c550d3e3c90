"""Internal messages decode exactly as pydantic's own model_validate_json and model_validate with
``extra="ignore"`` decode them: the same values, the same errors, the same refusal of options
pydantic refuses. The committed examples, altered at random, are the inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, PydanticUserError, ValidationError

from contracts.base import InternalMessage
from contracts.topics import all_topics

EXAMPLES = Path(__file__).parents[2] / "contracts" / "examples"
INTERNAL = sorted(
    {topic.message for topic in all_topics() if issubclass(topic.message, InternalMessage)},
    key=lambda model: model.__name__,
)
EXAMPLE_OF = {
    model: json.loads((EXAMPLES / f"{model.model_fields['type'].default}.v1.json").read_text())
    for model in INTERNAL
    if "type" in model.model_fields
    and (EXAMPLES / f"{model.model_fields['type'].default}.v1.json").exists()
}
ODD_VALUES: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.fixed_dictionaries({"unknown": st.integers()}),
    st.lists(st.integers(), max_size=2),
)


def altered(example: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The example with some top-level or one-level-down values replaced, dropped or added."""
    message: dict[str, Any] = json.loads(json.dumps(example))
    for _ in range(data.draw(st.integers(0, 3))):
        target: dict[str, Any] = message
        nested = [key for key, value in message.items() if isinstance(value, dict)]
        go_deeper = data.draw(st.booleans())
        if nested and go_deeper:
            target = message[data.draw(st.sampled_from(sorted(nested)))]
        key = data.draw(st.sampled_from([*sorted(target), "added_by_a_newer_release"]))
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(ODD_VALUES)
    return message


def outcome(decode: Any) -> object:
    try:
        return decode().model_dump()
    except ValidationError as error:
        return [(item["type"], item["loc"], item["msg"]) for item in error.errors()]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(EXAMPLE_OF, key=lambda model: model.__name__)), st.data())
def test_decoding_matches_pydantics_own(model: type[InternalMessage], data: st.DataObject) -> None:
    message = altered(EXAMPLE_OF[model], data)
    raw = json.dumps(message).encode()
    expected = outcome(lambda: BaseModel.model_validate_json.__func__(model, raw, extra="ignore"))  # type: ignore[attr-defined]
    assert outcome(lambda: model.model_validate_json(raw)) == expected
    assert outcome(lambda: model.model_validate(message)) == outcome(
        lambda: BaseModel.model_validate.__func__(model, message, extra="ignore")  # type: ignore[attr-defined]
    )


def test_every_internal_message_with_an_example_is_covered() -> None:
    assert len(EXAMPLE_OF) >= 10


def test_options_pydantic_refuses_are_refused_by_pydantic() -> None:
    model, example = next(iter(EXAMPLE_OF.items()))
    with pytest.raises(PydanticUserError, match="by_alias"):
        model.model_validate_json(json.dumps(example), by_alias=False)
    with pytest.raises(PydanticUserError, match="by_alias"):
        model.model_validate(example, by_alias=False)
