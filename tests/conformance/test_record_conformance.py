"""Recording through either door gives the same ledger and the same cassette, in ``record``
and in ``new_episodes`` mode.

The pass-through session of :mod:`test_passthrough_conformance` (real SDKs and httpx against
the local uvicorn upstream) in record mode: through ``FaultkitTransport(mode="record")`` into
a cassette store, and through a real ``faultkit proxy --mode record``, which writes one file
per route when it stops. Compared: the ledgers and what the client got (as every cell), and
the recordings, interaction by interaction: the request (method, URL, every header as stored,
scrubbed, body) and the response (status, headers but ``date``, body).
Recorded timing (first byte, per-event offsets) is measured, so it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conformance_doors import InProcessDoor, ProxyDoor, run_cell
from conformance_world import Run, differences
from live_provider import LiveProvider
from proxy_process import ProxyFactory
from test_passthrough_conformance import SESSION, urls_of

from faultkit.cassettes.load import load_cassette
from faultkit.cassettes.model import Interaction
from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, CassetteStore
from faultkit.scenario import Scenario

# The upstream's ``date`` on a response is the second it answered: the one header left out.
UNRECORDED_RESPONSE = frozenset({"date"})


def recorded(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    return {
        "request": (
            request.method,
            request.url,
            sorted((k.lower(), v) for k, v in request.headers),
            request.body,
        ),
        "response": (
            response.head.status,
            sorted(
                (k.lower(), v)
                for k, v in response.head.headers
                if k.lower() not in UNRECORDED_RESPONSE
            ),
            response.body,
        ),
    }


@dataclass
class Recorded:
    scenario: Scenario | None
    local: Run
    remote: Run
    mine: list[Interaction]  # the in-process store's cassette, in recorded order
    theirs: dict[str, list[Interaction]]  # the proxy's files, by route


SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(None, id="no-scenario"),
        # A fault on a live stream while recording: the cassette keeps the whole answer.
        pytest.param("truncated-stream", id="truncated-stream", marks=pytest.mark.slow),
        # A whole-body fault on a live tool answer while recording.
        pytest.param("partial-tool-data", id="partial-tool-data", marks=pytest.mark.slow),
    ],
)
def recorded_both(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Recorded:
    name: str | None = request.param
    scenario_file = SCENARIO_DIR / f"{name}.yaml" if name else None
    scenario = Scenario.load(scenario_file) if scenario_file else None
    tmp = tmp_path_factory.mktemp("conformance-record")
    with LiveProvider() as live:
        urls = urls_of(live.url)
        target = tmp / "inprocess.yaml"
        store = CassetteStore.for_recording(target, match_on=APP_MATCH_ON, playback=APP_PLAYBACK)
        local = InProcessDoor(urls, store, mode="record").run(scenario, SESSION, 0)
        store.save()
        factory = ProxyFactory(tmp)
        try:
            door = ProxyDoor(factory, urls, "--mode", "record", "--cassettes", str(tmp / "proxy"))
            try:
                remote = door.run(scenario_file, SESSION, 0)
            finally:
                door.close()
            code, _, err = door.process.stop()  # writes the recordings
            assert code == 0, err
        finally:
            factory.close()
    theirs = {p.stem: load_cassette(p).interactions for p in (tmp / "proxy").glob("*.yaml")}
    return Recorded(scenario, local, remote, load_cassette(target).interactions, theirs)


def test_both_doors_record_the_same_interactions(recorded_both: Recorded) -> None:
    local, mine = recorded_both.local, recorded_both.mine
    assert len(mine) == len(SESSION) == len(local.ledger)
    by_route: dict[str, list[dict[str, Any]]] = {}
    for entry, interaction in zip(local.ledger, mine, strict=True):
        assert interaction.request.url == entry.url
        by_route.setdefault(entry.route, []).append(recorded(interaction))
    theirs = {route: [recorded(i) for i in found] for route, found in recorded_both.theirs.items()}
    assert theirs == by_route


def test_recording_ledgers_read_the_same(recorded_both: Recorded) -> None:
    lines = differences(recorded_both.local, recorded_both.remote, recorded_both.scenario)
    assert not lines, "the doors disagree while recording:\n" + "\n".join(lines)


def test_new_episodes_replays_what_is_recorded_and_records_the_rest(tmp_path: Path) -> None:
    """``new_episodes`` through either door: the tool's answers come from a cassette both
    doors load from the same file (so the ledgers name the same recordings), the provider
    calls are forwarded and recorded. Same ledgers, same client outcomes, same verdict, same
    new recordings."""
    seed = tmp_path / "cassettes"
    tools = [request for request in SESSION if "/orders/" in request.url]
    with LiveProvider() as live:
        urls = urls_of(live.url)
        store = CassetteStore.for_recording(
            seed / "orders.yaml", match_on=APP_MATCH_ON, playback=APP_PLAYBACK
        )
        InProcessDoor(urls, store, mode="record").run(None, tools, 0)
        store.save()
        target = tmp_path / "inprocess.yaml"
        ours = CassetteStore.for_recording(
            target, also=[seed / "orders.yaml"], match_on=APP_MATCH_ON, playback=APP_PLAYBACK
        )
        factory = ProxyFactory(tmp_path)
        try:
            door = ProxyDoor(factory, urls, "--mode", "new_episodes", "--cassettes", str(seed))
            try:
                local, remote = run_cell(
                    InProcessDoor(urls, ours, mode="new_episodes"), door, None, SESSION
                )
            finally:
                door.close()
            code, _, err = door.process.stop()  # writes the recordings
            assert code == 0, err
        finally:
            factory.close()
    ours.save()
    replayed = [e.recording for e in local.ledger if e.route == "orders"]
    assert replayed == [f"{seed / 'orders.yaml'}#0", f"{seed / 'orders.yaml'}#1"]
    lines = differences(local, remote, None)
    assert not lines, "the doors disagree in new_episodes:\n" + "\n".join(lines)
    providers = [e for e in local.ledger if e.route != "orders"]
    mine = load_cassette(target).interactions
    assert len(mine) == len(providers)
    by_route: dict[str, list[dict[str, Any]]] = {}
    for entry, interaction in zip(providers, mine, strict=True):
        by_route.setdefault(entry.route, []).append(recorded(interaction))
    theirs = {
        route: [recorded(i) for i in load_cassette(seed / f"{route}.yaml").interactions]
        for route in by_route
    }
    assert theirs == by_route
