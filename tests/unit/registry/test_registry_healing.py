"""The registry's answer to refused apps.changed records: each app named is re-announced once per
round, with the least restrictive condition noted for it; names that are no app id are ignored,
and an app the database or broker could not reach yet is kept for the next round."""

from __future__ import annotations

import pytest

from services.registry.apps.healing import AppsHealer

pytestmark = pytest.mark.unit


class Admin:
    """Records what was re-announced; fails for the apps in ``down``."""

    def __init__(self, down: frozenset[str] = frozenset()) -> None:
        self.asked: list[tuple[str, int | None]] = []
        self.down = down

    async def reannounce(self, app_id: str, refused_revision: int | None) -> bool:
        self.asked.append((app_id, refused_revision))
        if app_id in self.down:
            raise ConnectionRefusedError("database unavailable")
        return True


async def test_each_app_is_re_announced_once_with_the_weakest_condition() -> None:
    admin = Admin()
    healer = AppsHealer(admin)

    healer.refused("shop", 4)
    healer.refused("shop", 2)
    healer.refused("cafe", 3)
    healer.refused("cafe", None)
    healer.refused("cafe", 5)
    healer.refused("Not An App!", None)
    await healer.heal()
    await healer.heal()

    assert sorted(admin.asked) == [("cafe", None), ("shop", 2)]


async def test_an_app_that_could_not_be_re_announced_is_tried_again() -> None:
    admin = Admin(down=frozenset({"shop"}))
    healer = AppsHealer(admin)
    healer.refused("shop", None)

    await healer.heal()
    admin.down = frozenset()
    await healer.heal()

    assert admin.asked == [("shop", None), ("shop", None)]
