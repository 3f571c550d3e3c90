"""Every SQL statement about apps' notification categories; the caller's transaction holds the
app's lock, so a change and the announcement of the app's new state commit together."""

from __future__ import annotations

from datetime import datetime

from contracts.categories import Category, FrequencyCap
from shared.db import Connection


async def put_category(conn: Connection, app_id: str, category: Category, now: datetime) -> None:
    """Create the category, or replace its name, default and cap."""
    cap = category.cap
    await conn.execute(
        """
        INSERT INTO categories (app_id, category_id, name, default_enabled, cap_limit, cap_window,
                                created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
        ON CONFLICT (app_id, category_id) DO UPDATE SET
            name = EXCLUDED.name, default_enabled = EXCLUDED.default_enabled,
            cap_limit = EXCLUDED.cap_limit, cap_window = EXCLUDED.cap_window,
            updated_at = EXCLUDED.updated_at
        """,
        app_id,
        category.category_id,
        category.name,
        category.default_enabled,
        cap.limit if cap else None,
        cap.window_seconds if cap else None,
        now,
    )


async def delete_category(conn: Connection, app_id: str, category_id: str) -> bool:
    """Forget the category; False when the app had no such category."""
    found = await conn.fetchval(
        "DELETE FROM categories WHERE app_id = $1 AND category_id = $2 RETURNING true",
        app_id,
        category_id,
    )
    return bool(found)


async def categories_of(conn: Connection, app_id: str) -> list[Category]:
    """The app's categories by id."""
    rows = await conn.fetch(
        "SELECT category_id, name, default_enabled, cap_limit, cap_window FROM categories"
        " WHERE app_id = $1 ORDER BY category_id",
        app_id,
    )
    return [
        Category(
            category_id=row["category_id"],
            name=row["name"],
            default_enabled=row["default_enabled"],
            cap=FrequencyCap(limit=row["cap_limit"], window_seconds=row["cap_window"])
            if row["cap_limit"] is not None
            else None,
        )
        for row in rows
    ]
