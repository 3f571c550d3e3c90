"""The dead-letters page: what Herald's consumers parked for the signed-in app, per parking
topic, and replaying one record or all of a topic back where it came from. The registry's
admin API does the reading and replaying (the code of ``herald dlq``) and answers an app's key
with that app's records only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from services.console.session import Session
from services.console.upstream import Upstream, UpstreamError, segment
from services.console.web import checked_form, page, session_of

Signed = Annotated[Session, Depends(session_of)]
PATH = "/v1/admin/dead-letters"
#: Newest records shown per parking topic.
NEWEST = 5


def replay_notice(topic: str, answer: dict[str, Any]) -> str:
    """One sentence on what a replay did, naming why each skipped or failed record was."""
    told = [
        f"{answer['replayed']} replayed, {answer['skipped']} skipped, {answer['failed']} failed "
        f"on {topic}."
    ]
    told += [
        f"{step['position']} {step['outcome']}: {step['detail']}."
        for step in answer.get("steps", [])
        if step["outcome"] != "replayed"
    ]
    return " ".join(told)


def add_dead_letters(app: FastAPI, upstream: Upstream) -> None:
    """Mount the dead-letters page on ``app``."""

    async def dead_letters_page(
        request: Request, session: Session, notice: str | None = None, error: str | None = None
    ) -> Response:
        parked: list[dict[str, Any]] = []
        try:
            listed = await upstream.get("registry", f"{PATH}?newest={NEWEST}", session.api_key)
            parked = [topic for topic in listed["topics"] if topic["count"]]
        except UpstreamError as failure:
            error = error or failure.message
        context = {"session": session, "parked": parked, "notice": notice, "error": error}
        return page(request, "dead_letters.html", context)

    @app.get("/operations/dead-letters", response_class=HTMLResponse, include_in_schema=False)
    async def dead_letters(request: Request, session: Signed) -> Response:
        return await dead_letters_page(request, session)

    @app.post(
        "/operations/dead-letters/{topic}/replay",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def replay(request: Request, topic: str, session: Signed) -> Response:
        form = await checked_form(request, session)
        position = form.get("position", "")
        body: dict[str, Any] = {"position": position} if position else {"all": True}
        path = f"{PATH}/{segment(topic)}/replay"
        try:
            answer = await upstream.call("registry", "POST", path, session.api_key, body)
        except UpstreamError as error:
            return await dead_letters_page(request, session, error=error.message)
        return await dead_letters_page(request, session, notice=replay_notice(topic, answer))
