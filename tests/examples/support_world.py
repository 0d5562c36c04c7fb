"""The example apps, wired to faultkit's in-process door over the bundled cassettes (as
``faultkit run`` wires them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from faultkit.cassettes import CassetteStore
from faultkit.doors.inprocess import AsyncFaultkitTransport, FaultkitTransport
from faultkit.engine import Engine
from faultkit.runner import bundled
from faultkit.runner.cases import load_cases
from faultkit.scenario import Scenario

bundled.ensure_importable()

QUESTION = "Hi, where is my order 1234? When will it arrive?"


def world(rules_yaml: str | None = None) -> Engine:
    """An engine over the example's cassettes, matched as ``faultkit run`` matches them, with
    the scenario ``rules_yaml`` (the body of a scenario file after ``rules:``)."""
    cases = load_cases(bundled.cases_path())
    store = CassetteStore(
        cases.cassette_paths(),
        match_on=cases.match_on,
        playback="repeat",
        ignore_body_fields=cases.ignore_body_fields,
    )
    scenario = Scenario.from_yaml(f"name: t\nrules:\n{rules_yaml}") if rules_yaml else None
    return Engine(scenario, source=store)


def async_factory(engine: Engine) -> Callable[..., httpx.AsyncClient]:
    def make(**kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=AsyncFaultkitTransport(engine), **kwargs)

    return make


def sync_factory(engine: Engine) -> Callable[..., httpx.Client]:
    def make(**kwargs: Any) -> httpx.Client:
        return httpx.Client(transport=FaultkitTransport(engine), **kwargs)

    return make
