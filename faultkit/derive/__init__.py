"""Scenarios derived from the user's own cassettes: the applicable set, with none written.

A bundled scenario names the example app's hosts; on another app it would match nothing and
pass silently. Deriving looks at what the recordings really show (providers and their wire
formats, streams, tool calls, structured answers, tool routes and the fields their answers
carry) and instantiates each bundled family for exactly that, so every derived scenario has
something to fire on::

    from faultkit.derive import derive_scenarios
    scenarios = derive_scenarios(["cassettes/"])   # same cassettes -> same scenarios, same order

Names: the family (``429-burst``) for provider-wide scenarios, ``<family>.<route>``
(``tool-timeout.weather.example``) for those of one tool route.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from faultkit.cassettes import Cassette, load_cassette
from faultkit.cassettes.store import cassette_files
from faultkit.derive.families import PROVIDER_FAMILIES, Derived, instantiate, route_slug
from faultkit.derive.shapes import Shapes, observe
from faultkit.scenario import Scenario

CassetteSource = Cassette | str | Path


def load_cassettes(sources: Iterable[CassetteSource]) -> list[Cassette]:
    """Cassettes as given, files loaded and directories searched (sorted); a missing or
    corrupt file raises ``CassetteError`` naming it."""
    out: list[Cassette] = []
    paths: list[str | Path] = []
    for source in sources:
        if isinstance(source, Cassette):
            out.extend(load_cassette(p) for p in cassette_files(paths))
            paths = []
            out.append(source)
        else:
            paths.append(source)
    out.extend(load_cassette(p) for p in cassette_files(paths))
    return out


def derive(cassettes: Iterable[CassetteSource], deadline_ms: float | None = None) -> list[Derived]:
    """The derived scenarios with what each targets and why it was derived. ``deadline_ms``:
    the SUT's deadline (its contract's), which a silent tool or a stalled stream outlasts so
    that a missing timeout shows as a hang."""
    return instantiate(observe(load_cassettes(cassettes)), deadline_ms)


def derive_scenarios(
    cassettes: Iterable[CassetteSource], deadline_ms: float | None = None
) -> list[Scenario]:
    """The scenarios that apply to ``cassettes`` (loaded ones, files or directories)."""
    return [d.scenario for d in derive(cassettes, deadline_ms)]


__all__ = [
    "PROVIDER_FAMILIES",
    "Derived",
    "Shapes",
    "derive",
    "derive_scenarios",
    "load_cassettes",
    "observe",
    "route_slug",
]
