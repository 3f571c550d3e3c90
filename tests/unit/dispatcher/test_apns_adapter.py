"""The aioapns adapter leans on aioapns internals: it refuses an aioapns it was not tested with."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from services.dispatcher.platforms.apns.aioapns_adapter import TESTED_VERSIONS, check_version

pytestmark = pytest.mark.unit


def test_the_installed_aioapns_is_one_the_adapter_was_tested_with() -> None:
    assert version("aioapns") in TESTED_VERSIONS


def test_another_aioapns_is_refused_naming_both_versions() -> None:
    refused = r"aioapns 4\.9 is installed.*tested only with aioapns 4\.0"
    with pytest.raises(ImportError, match=refused):
        check_version("4.9")
