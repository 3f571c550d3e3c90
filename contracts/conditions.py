"""Topic conditions: "'sports' && ('goals' || 'scores')", parsed into a small tree.

The same grammar as FCM's conditions, so a sender moving from FCM writes what it knows: quoted
topic names (``'name' in topics`` is accepted too), ``&&`` binding tighter than ``||``, and
parentheses. Pure: the request model checks a condition with it, the registry turns the tree into
its query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: FCM's rule for a topic name; Herald applies it to every topic.
TOPIC_NAME_PATTERN = r"^[a-zA-Z0-9\-_.~%]{1,900}$"
MAX_CONDITION_TOPICS = 5
MAX_CONDITION_LENGTH = 4096
#: Parentheses nest at most this deep: five topics never need more, and the parser recurses once
#: per level (a few thousand levels fit in the length limit and would exhaust Python's stack).
MAX_CONDITION_DEPTH = 16

_NAME = re.compile(TOPIC_NAME_PATTERN)
_IN_TOPICS = re.compile(r"in\s+topics\b")


@dataclass(frozen=True)
class Subscribed:
    """True for a device subscribed to ``topic``."""

    topic: str


@dataclass(frozen=True)
class AllOf:
    """True when every part is (``&&``)."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when one part is (``||``)."""

    parts: tuple[Condition, ...]


Condition = Subscribed | AllOf | AnyOf


class ConditionError(ValueError):
    """A condition that cannot be read; ``position`` is the 0-based index of the problem."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"at position {position}: {problem}")
        self.position = position


def parse(text: str) -> Condition:
    """The tree of ``text``; ConditionError names the position of the first problem."""
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionError(MAX_CONDITION_LENGTH, f"longer than {MAX_CONDITION_LENGTH} characters")
    parser = _Parser(text)
    condition = parser.expression()
    parser.skip_spaces()
    if parser.at < len(text):
        raise ConditionError(parser.at, f"expected '&&', '||' or the end, found {parser.rest()}")
    named = topics(condition)
    if len(named) > MAX_CONDITION_TOPICS:
        raise ConditionError(
            0, f"names {len(named)} topics; a condition may name at most {MAX_CONDITION_TOPICS}"
        )
    return condition


def topics(condition: Condition) -> list[str]:
    """The topics ``condition`` names, each once, in order of appearance."""
    if isinstance(condition, Subscribed):
        return [condition.topic]
    return list(dict.fromkeys(name for part in condition.parts for name in topics(part)))


class _Parser:
    """Recursive descent: expression := term ('||' term)*; term := factor ('&&' factor)*;
    factor := '(' expression ')' | quoted topic name ['in topics']."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0

    def skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def rest(self) -> str:
        return repr(self.text[self.at : self.at + 10]) if self.at < len(self.text) else "the end"

    def takes(self, token: str) -> bool:
        self.skip_spaces()
        if self.text.startswith(token, self.at):
            self.at += len(token)
            return True
        return False

    def expression(self) -> Condition:
        parts = [self.term()]
        while self.takes("||"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def term(self) -> Condition:
        parts = [self.factor()]
        while self.takes("&&"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def factor(self) -> Condition:
        self.skip_spaces()
        opened = self.at
        if self.takes("("):
            self.depth += 1
            if self.depth > MAX_CONDITION_DEPTH:
                raise ConditionError(
                    opened, f"parentheses nest deeper than {MAX_CONDITION_DEPTH} levels"
                )
            inner = self.expression()
            self.depth -= 1
            if not self.takes(")"):
                raise ConditionError(
                    self.at,
                    f"expected ')' to close the '(' at position {opened}, found {self.rest()}",
                )
            return inner
        if self.at < len(self.text) and self.text[self.at] in "'\"":
            return Subscribed(self.quoted())
        raise ConditionError(self.at, f"expected a quoted topic name or '(', found {self.rest()}")

    def quoted(self) -> str:
        quote, start = self.text[self.at], self.at
        end = self.text.find(quote, start + 1)
        if end < 0:
            raise ConditionError(start, f"the topic name opened with {quote} is never closed")
        name = self.text[start + 1 : end]
        if not _NAME.match(name):
            raise ConditionError(
                start + 1,
                f"{name!r} is not a topic name (1 to 900 of the characters a-z, A-Z, 0-9 and "
                "'-_.~%')",
            )
        self.at = end + 1
        self.skip_spaces()
        found = _IN_TOPICS.match(self.text, self.at)
        if found:
            self.at = found.end()
        return name
