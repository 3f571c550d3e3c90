"""The admin API's dead letters: what consumers parked, per parking topic, and replaying one
record or a whole topic back where it came from, by the same code as ``herald dlq``
(shared.kafka.dlq, shared.kafka.parked).

Parked records are cross-tenant, so an operator sees them all and an app's admin key only those
that name its app (the app a rejection names, or the ``app_id`` of the original event); a record
naming no app (bytes that are not an event) is an operator's alone.

Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

import heapq
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from aiokafka.errors import KafkaError
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field, model_validator

from contracts.base import PublicRequest
from contracts.deadletter import DeadLetter
from services.registry.apps.admin_auth import ADMIN_ERRORS, AdminAccess, Administrator
from shared.http import ApiError
from shared.kafka.clients import BrokerAccessError
from shared.kafka.dlq import DlqError, NoParkingTopic, parking_topic, read_parking, replay
from shared.kafka.parked import Parked, Replay, Selection, Skip, app_of, parking_topics, plan
from shared.settings import KafkaSettings

PREFIX = "/v1/admin/dead-letters"
#: ``partition:offset`` of a record on its parking topic.
POSITION = r"^[0-9]{1,6}:[0-9]{1,19}$"


class Entry(BaseModel):
    position: str = Field(description="partition:offset on the parking topic")
    parked_at: datetime | None
    reason: str
    app_id: str | None
    consumer_group: str | None = Field(description="The consumer that parked it (None: ingest).")
    source_topic: str | None
    source_position: str | None
    cannot_replay: str | None = Field(description="Why replaying it would skip it, if it would.")


class ParkingTopic(BaseModel):
    topic: str
    count: int = Field(description="Parked records the caller may see.")
    newest: list[Entry] = Field(description="The newest of them, newest first.")


class DeadLetters(BaseModel):
    topics: list[ParkingTopic]


class ReplayRequest(PublicRequest):
    position: str | None = Field(default=None, pattern=POSITION, description="One record.")
    all: bool = Field(default=False, description="Every record the caller may see.")

    @model_validator(mode="after")
    def one_choice(self) -> "ReplayRequest":
        if (self.position is None) == (not self.all):
            raise ValueError("give either a position or all: true")
        return self


class Step(BaseModel):
    position: str
    outcome: Literal["replayed", "skipped", "failed"]
    detail: str = Field(description="Where the copy landed, or why it was skipped or failed.")


class ReplayAnswer(BaseModel):
    replayed: int
    skipped: int
    failed: int
    steps: list[Step]


def _entry(parked: Parked, step: Replay | Skip) -> Entry:
    letter = parked.letter
    cannot = step.why if isinstance(step, Skip) else None
    if letter is None:
        return Entry(
            position=parked.position,
            parked_at=None,
            reason=parked.problem or "not a dead letter",
            app_id=None,
            consumer_group=None,
            source_topic=None,
            source_position=None,
            cannot_replay=cannot,
        )
    source = letter.source
    return Entry(
        position=parked.position,
        parked_at=letter.occurred_at,
        reason=letter.reason,
        app_id=app_of(letter),
        consumer_group=letter.consumer_group if isinstance(letter, DeadLetter) else None,
        source_topic=source.topic,
        source_position=f"{source.partition}:{source.offset}",
        cannot_replay=cannot,
    )


def _step(step: Replay | Skip, landed: dict[str, str | BaseException]) -> Step:
    position = step.parked.position
    if isinstance(step, Skip):
        return Step(position=position, outcome="skipped", detail=step.why)
    result = landed.get(position)
    if isinstance(result, BaseException):
        return Step(position=position, outcome="failed", detail=f"{step.topic}: {result}")
    return Step(position=position, outcome="replayed", detail=f"{step.topic} {result}")


def add_dead_letter_routes(app: FastAPI, settings: KafkaSettings, access: AdminAccess) -> None:
    """Mount the dead-letter routes of the admin API on ``app``."""
    administrator = Depends(access.administrator)
    tags: list[str | Enum] = ["admin"]

    async def summaries(selection: Selection, newest: int) -> list[ParkingTopic]:
        """Every parking topic's count and newest records, read in one pass."""
        parkings = parking_topics()
        counts = dict.fromkeys((p.name for p in parkings), 0)
        # Per topic, a min-heap of its newest records by parked time.
        kept: dict[str, list[tuple[float, int, int, Parked]]] = {p.name: [] for p in parkings}
        try:
            async for parking, parked in read_parking(settings, parkings, selection):
                counts[parking.name] += 1
                ranked = (_parked_at(parked), parked.partition, parked.offset, parked)
                heap = kept[parking.name]
                if len(heap) < newest:
                    heapq.heappush(heap, ranked)
                elif newest:
                    heapq.heappushpop(heap, ranked)
        except NoParkingTopic:
            pass  # nothing was ever parked on this cluster: every count stays 0
        found = []
        for parking in parkings:
            chosen = [ranked[-1] for ranked in sorted(kept[parking.name], reverse=True)]
            address = settings.address(parking)
            steps = plan(chosen, parking, prefix=settings.topic_prefix, address=address)
            entries = [_entry(parked, step) for parked, step in zip(chosen, steps, strict=True)]
            found.append(
                ParkingTopic(topic=parking.name, count=counts[parking.name], newest=entries)
            )
        return found

    @app.get(
        PREFIX,
        response_model=DeadLetters,
        responses={**ADMIN_ERRORS, 503: {"description": "The broker did not answer."}},
        tags=tags,
        summary="The parking topics with their counts and newest records (an app's key: its own)",
    )
    async def dead_letters(
        who: Annotated[Administrator, administrator],
        newest: Annotated[int, Query(ge=0, le=100)] = 5,
    ) -> DeadLetters:
        try:
            found = await summaries(Selection(app_id=who.app_id), newest)
        except (KafkaError, BrokerAccessError) as error:
            raise ApiError(503, "unavailable", f"the broker did not answer: {error}") from None
        return DeadLetters(topics=found)

    @app.post(
        PREFIX + "/{topic}/replay",
        response_model=ReplayAnswer,
        responses={**ADMIN_ERRORS, 503: {"description": "The broker did not answer."}},
        tags=tags,
        summary="Send one parked record, or all the caller may see, back where it came from",
    )
    async def replay_parked(
        topic: str, body: ReplayRequest, who: Annotated[Administrator, administrator]
    ) -> ReplayAnswer:
        try:
            parking = parking_topic(topic)
        except DlqError as error:
            raise ApiError(404, "not_found", str(error), field="topic") from None
        selection = Selection(app_id=who.app_id)
        if body.position is not None:
            partition, offset = (int(part) for part in body.position.split(":"))
            selection = Selection(
                app_id=who.app_id, partition=partition, offsets=frozenset({offset})
            )
        try:
            report = await replay(settings, parking, selection, dry_run=False)
        except NoParkingTopic:
            report = None
        except (KafkaError, BrokerAccessError) as error:
            raise ApiError(503, "unavailable", f"the broker did not answer: {error}") from None
        if body.position is not None and (report is None or not report.steps):
            raise ApiError(404, "not_found", f"nothing parked at {body.position} on {topic}")
        if report is None:
            return ReplayAnswer(replayed=0, skipped=0, failed=0, steps=[])
        steps = [_step(step, report.landed) for step in report.steps]
        return ReplayAnswer(
            replayed=sum(step.outcome == "replayed" for step in steps),
            skipped=sum(step.outcome == "skipped" for step in steps),
            failed=report.failed,
            steps=steps,
        )


def _parked_at(parked: Parked) -> float:
    """When a record was parked, as a timestamp (0 for one that is not a dead letter)."""
    return parked.letter.occurred_at.timestamp() if parked.letter is not None else 0.0
