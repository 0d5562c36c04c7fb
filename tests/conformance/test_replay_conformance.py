"""Issue 14, item 1: every bundled scenario x every bundled cassette gives the same ledger and
the same verdict through the in-process door and through the real proxy process.

Each cell sends the cassette's recorded requests in order with real clients (the openai and
anthropic SDKs, ``max_retries=0`` by default; httpx for the tool and for Gemini) through each
door, then compares, per cell:

- what the client got, request by request (an answer, or the exception's type);
- every ledger entry's facts: all fields but ``arrival_ms``, ``first_byte_ms``, ``end_ms``
  (measured times: two runs through one door differ there too) and ``error`` (diagnostic text
  each door words its own way; the ``ending`` it explains is compared). So route, url, format,
  model, status, retry-after, error code, usage, tool calls, faults with their alterations,
  skipped faults with their reasons, logical call and attempt, bytes sent and ending are all
  compared;
- the verdict the real oracle gives for that ledger and that client outcome (its kind,
  whether it is allowed, and each finding's kind and ledger entries; summaries and
  ``timings_ms`` hold measured gaps and are left out).

Cells where a fault does not apply are compared like the others: a skipped fault is in the
ledger's ``skipped`` (with its reason) and an unfired scenario is ``not_exercised``, and both
must read the same through either door (:func:`test_cells_where_nothing_applies_agree`).

A scenario whose waits outrun the client's read timeout (a 2.5 s latency, a 30 s tool
timeout, a 60 s stall: fault waits are not scaled by the timing scale) costs the client its
timeout on every exchange it fires on; by default it runs on the :func:`representative`
cassettes (one per route x wire format x streamed x status class), and on all of them under
``-m slow``. Every other scenario runs on every cassette.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_doors import InProcessDoor, ProxyDoor, run_cell
from conformance_world import (
    CASSETTES,
    REPO,
    SCENARIOS,
    differences,
    representative,
    requests_of,
    waits_out_client,
)

from faultkit.scenario import Scenario

# A door discrepancy this suite finds and the doors do not fix yet goes here as a strict xfail
# (scenario file stem -> what differs), so the day it is fixed the xfail fails and is removed.
# None is known: those found (a read timeout's ending, a stall ending in a close, a reset's
# exception, a dropped malformed stream, a quota 429 retried unread) are fixed.
# Racy discrepancies (failing on some runs only, so a strict xfail would flap) go here as
# non-strict xfails; none is known (D10, the re-ask after a cut answer and a tool request, is
# fixed).
RACY: dict[str, str] = {}
KNOWN: dict[str, str] = {}


def _known(stem: str, known: dict[str, str]) -> list[pytest.MarkDecorator]:
    if stem in known:
        return [pytest.mark.xfail(strict=True, reason=known[stem])]
    if stem in RACY:
        return [pytest.mark.xfail(strict=False, reason=RACY[stem])]
    return []


def _cases(*, slow: bool) -> list[object]:
    cases = []
    for path in SCENARIOS:
        waits = waits_out_client(Scenario.load(path))
        if slow and not waits:
            continue
        marks = _known(path.stem, KNOWN)
        if slow:
            marks.append(pytest.mark.slow)
        cases.append(pytest.param(path, marks=marks, id=path.stem))
    return cases


def _check(
    inprocess: InProcessDoor, proxy: ProxyDoor, scenario_file: Path, cassettes: list[Path]
) -> None:
    scenario = Scenario.load(scenario_file)
    report = []
    applied = 0
    for cassette in cassettes:
        local, remote = run_cell(inprocess, proxy, scenario_file, requests_of(cassette))
        assert local.ledger, f"{cassette.name}: no request reached the in-process door"
        lines = differences(local, remote, scenario)
        report += [f"{scenario_file.stem} x {cassette.name}: {line}" for line in lines]
        applied += sum(len(e.faults) for e in local.ledger)
    assert not report, "the doors disagree:\n" + "\n".join(report)
    # Agreeing is not enough: two doors that applied no fault at all would agree too.
    assert applied, f"{scenario_file.stem} applied no fault on any of {len(cassettes)} cassettes"


@pytest.mark.parametrize("scenario_file", _cases(slow=False))
def test_both_doors_agree_on_every_cassette(
    inprocess: InProcessDoor, proxy: ProxyDoor, scenario_file: Path
) -> None:
    waits = waits_out_client(Scenario.load(scenario_file))
    _check(inprocess, proxy, scenario_file, representative(CASSETTES) if waits else CASSETTES)


@pytest.mark.parametrize("scenario_file", _cases(slow=True))
def test_waiting_scenarios_agree_on_the_other_cassettes(
    inprocess: InProcessDoor, proxy: ProxyDoor, scenario_file: Path
) -> None:
    chosen = set(representative(CASSETTES))
    _check(inprocess, proxy, scenario_file, [c for c in CASSETTES if c not in chosen])


REAL = REPO / "tests" / "cassettes-real"
SCENARIO_DIR = REPO / "scenarios"


@pytest.mark.parametrize(
    ("scenario_name", "cassette_name", "verdict", "skipped"),
    [
        # No rule matches (no tool route): nothing fired, nothing skipped.
        ("partial-tool-data", "pydantic-ai__test_request_simple_usage.yaml", "not_exercised", []),
        # The rule fires on every provider call and finds no structured answer to drift.
        (
            "schema-drift-structured-output",
            "llm__test_tool_use_chain_of_two_calls.yaml",
            "not_exercised",
            [(i, "schema_drift", "nothing to alter") for i in (1, 2, 3)],
        ),
    ],
    ids=["no-rule-matches", "fires-on-nothing"],
)
def test_cells_where_nothing_applies_agree(
    inprocess: InProcessDoor,
    proxy: ProxyDoor,
    scenario_name: str,
    cassette_name: str,
    verdict: str,
    skipped: list[tuple[int, str, str]],
) -> None:
    """A cell whose fault does not apply says so the same way through both doors: the same
    skipped firings with the same reasons, no fault applied, and ``not_exercised``."""
    scenario_file = SCENARIO_DIR / f"{scenario_name}.yaml"
    local, remote = run_cell(inprocess, proxy, scenario_file, requests_of(REAL / cassette_name))
    scenario = Scenario.load(scenario_file)
    for run in (local, remote):
        assert [(e.id, s.type, s.reason) for e in run.ledger for s in e.skipped] == skipped
        assert not any(e.faults for e in run.ledger)
        assert run.verdict(scenario).kind == verdict
    assert differences(local, remote, scenario) == []


SUPPORT = sorted((REPO / "cassettes" / "support").glob("*.yaml"))
RETRY_KNOWN: dict[str, str] = {}  # as KNOWN, for the SDK-retry variant


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario_file",
    [pytest.param(path, id=path.stem, marks=_known(path.stem, RETRY_KNOWN)) for path in SCENARIOS],
)
def test_sdk_retries_agree(inprocess: InProcessDoor, proxy: ProxyDoor, scenario_file: Path) -> None:
    """The bundled example app's cassettes with the SDKs retrying on their own
    (``max_retries=2``: backoff, retry-after, ``x-stainless-retry-count``), so attempts and
    logical calls are compared as well as answers."""
    scenario = Scenario.load(scenario_file)
    report = []
    for cassette in SUPPORT:
        local, remote = run_cell(
            inprocess, proxy, scenario_file, requests_of(cassette), max_retries=2
        )
        lines = differences(local, remote, scenario)
        report += [f"{scenario_file.stem} x {cassette.name}: {line}" for line in lines]
        if any(e.status in (429, 500, 502, 503, 529) for e in local.ledger):
            # the SDKs retry these: their retries reached the door as later attempts
            assert max(e.attempt for e in local.ledger) > 1, cassette.name
    assert not report, "the doors disagree:\n" + "\n".join(report)
