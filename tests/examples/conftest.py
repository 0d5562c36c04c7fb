"""The example apps need the ``examples`` package importable and an API key (never used: the
door answers every request from the cassettes)."""

from __future__ import annotations

import pytest

from faultkit.runner import bundled

bundled.ensure_importable()


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
