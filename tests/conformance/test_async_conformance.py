"""The in-process door's async transports agree with its sync ones, cell by cell.

Every bundled scenario x every bundled cassette (by default the scenarios that do not make
the client wait out its read timeout, on the :func:`representative` cassettes; the rest under
``-m slow``), replayed
through the async transports with the async SDK clients and through the sync transports with
the sync clients, compared as the doors are (:func:`~conformance_world.differences`). With the
replay suite holding the sync door equal to the proxy, all three doors agree. Plus the
pass-through session against the local upstream, through both.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conformance_async import AsyncInProcessDoor
from conformance_doors import InProcessDoor, replay_store
from conformance_world import (
    CASSETTES,
    SCENARIOS,
    UPSTREAMS,
    Run,
    differences,
    representative,
    requests_of,
    waits_out_client,
)
from live_provider import LiveProvider
from test_passthrough_conformance import SESSION, urls_of

from faultkit.exchange import Request
from faultkit.scenario import Scenario

LABELS = ("sync", "async")


@pytest.fixture(scope="module")
def async_door() -> AsyncInProcessDoor:
    return AsyncInProcessDoor(UPSTREAMS, replay_store(CASSETTES))


def _both(
    sync: InProcessDoor,
    async_door: AsyncInProcessDoor,
    scenario: Scenario | None,
    requests: list[Request],
) -> tuple[Run, Run]:
    """The cell through both at once (own engines, own stores), so waits are paid once."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = pool.submit(async_door.run, scenario, requests)
        ours = sync.run(scenario, requests, 0)
        return ours, theirs.result()


def _cases(*, slow: bool) -> list[object]:
    return [
        pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else [])
        for path in SCENARIOS
        if slow or not waits_out_client(Scenario.load(path))
    ]


def _check(
    sync: InProcessDoor,
    async_door: AsyncInProcessDoor,
    scenario_file: Path,
    cassettes: list[Path],
) -> None:
    scenario = Scenario.load(scenario_file)
    report = []
    applied = 0
    for cassette in cassettes:
        ours, theirs = _both(sync, async_door, scenario, requests_of(cassette))
        lines = differences(ours, theirs, scenario, LABELS)
        report += [f"{scenario_file.stem} x {cassette.name}: {line}" for line in lines]
        applied += sum(len(e.faults) for e in ours.ledger)
    assert not report, "the sync and async transports disagree:\n" + "\n".join(report)
    # Agreeing is not enough: two transports that applied no fault at all would agree too.
    assert applied, f"{scenario_file.stem} applied no fault on any of {len(cassettes)} cassettes"


@pytest.mark.parametrize("scenario_file", _cases(slow=False))
def test_async_transports_agree_with_sync_ones(
    inprocess: InProcessDoor, async_door: AsyncInProcessDoor, scenario_file: Path
) -> None:
    _check(inprocess, async_door, scenario_file, representative(CASSETTES))


@pytest.mark.parametrize("scenario_file", _cases(slow=True))
def test_async_transports_agree_on_the_rest(
    inprocess: InProcessDoor, async_door: AsyncInProcessDoor, scenario_file: Path
) -> None:
    """The cells the default run leaves out: every scenario on the other cassettes, and the
    waiting scenarios on the representative ones too."""
    chosen = representative(CASSETTES)
    rest = [c for c in CASSETTES if c not in chosen]
    waits = waits_out_client(Scenario.load(scenario_file))
    _check(inprocess, async_door, scenario_file, (chosen if waits else []) + rest)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveProvider]:
    with LiveProvider() as upstream:
        yield upstream


def test_async_pass_through_agrees_with_sync(live: LiveProvider) -> None:
    urls = urls_of(live.url)
    sync = InProcessDoor(urls, mode="passthrough")
    sync.warm(SESSION)
    ours, theirs = _both(sync, AsyncInProcessDoor(urls, mode="passthrough"), None, SESSION)
    lines = differences(ours, theirs, None, LABELS)
    assert not lines, "the sync and async transports disagree:\n" + "\n".join(lines)
