"""The categories API: an app's server key with the admin scope manages its notification categories.

Each change is stored and announced on ``apps.changed`` before the answer, so ingest knows a new
category moments later (a send naming it just before then is refused and can be retried).
Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, Field

from contracts.base import PrintableText, PublicRequest
from contracts.categories import Category, CategoryId, FrequencyCap
from services.registry.apps.admin import AppAdmin
from services.registry.apps.domain import AdminError
from shared.http import ApiError


class CategoryBody(PublicRequest):
    """A category's definition; every call replaces it whole."""

    name: PrintableText = Field(default="", max_length=200)
    default_enabled: bool = Field(
        default=True,
        description="True: users get it until they opt out; False: only users who opted in.",
    )
    cap: FrequencyCap | None = Field(
        default=None, description="At most cap.limit pushes per user in any cap.window_seconds."
    )


class CategoryList(BaseModel):
    categories: list[Category]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key."},
    403: {"description": "The key lacks the admin scope, or a user token was used."},
    404: {"description": "No such category, or an app not managed with herald apps create."},
    422: {"description": "A malformed category id, a cap out of range, or an unknown field."},
}


def add_category_routes(
    app: FastAPI, admin: AppAdmin, app_dependency: Any, *, prefix: str = "/v1"
) -> None:
    """Mount the categories API under ``prefix``; ``app_dependency`` answers the app managed, once
    the caller may manage it: the admin key's own app under /v1, or the ``{app_id}`` of
    /v1/admin/apps/{app_id} (shared.http.app_of, AdminAccess.managed_app)."""
    app_of = Depends(app_dependency)

    @app.put(
        prefix + "/categories/{category_id}",
        response_model=Category,
        responses=_ERRORS,
        tags=["categories"],
        summary="Create or replace a notification category",
    )
    async def put_category(
        category_id: CategoryId, body: CategoryBody, app_id: Annotated[str, app_of]
    ) -> Category:
        """Requests name a category; users opt out of it; its cap limits pushes per user."""
        category = Category(category_id=category_id, **body.model_dump())
        try:
            await admin.put_category(app_id, category)
        except AdminError as error:
            raise ApiError(404, "not_found", str(error)) from None
        return category

    @app.get(
        prefix + "/categories",
        response_model=CategoryList,
        responses=_ERRORS,
        tags=["categories"],
        summary="List the app's notification categories",
    )
    async def list_categories(app_id: Annotated[str, app_of]) -> CategoryList:
        try:
            return CategoryList(categories=await admin.categories(app_id))
        except AdminError as error:
            raise ApiError(404, "not_found", str(error)) from None

    @app.delete(
        prefix + "/categories/{category_id}",
        status_code=204,
        responses=_ERRORS,
        tags=["categories"],
        summary="Delete a notification category",
    )
    async def delete_category(category_id: CategoryId, app_id: Annotated[str, app_of]) -> Response:
        """Requests naming it are refused from then on; users' choices about it are kept."""
        try:
            await admin.delete_category(app_id, category_id)
        except AdminError as error:
            raise ApiError(404, "not_found", str(error), field="category_id") from None
        return Response(status_code=204)
