"""Pass-through through either door gives the same ledger facts and the same verdict.

A real local upstream (:mod:`live_provider`, uvicorn on 127.0.0.1) answers like OpenAI,
Anthropic and a JSON tool: answers, streams, a 429 with ``retry-after: 2`` and a provider
error body, a quota 429 without retry-after, a 503 and a 529 with ``x-should-retry``, a 404.
The same client script (real SDKs, ``max_retries=0``; httpx for the tool) runs through the
in-process door in pass-through mode and through a real ``faultkit proxy --mode passthrough``,
with no scenario and with each bundled scenario (switched through the control API), and each
run is compared as a replay cell is (:func:`~conformance_world.differences`: the ledger but
its timings and error text, what the client got, the oracle's verdict), with one more
exclusion that only live answers need: ``ending`` and ``bytes_sent`` of an answer the client
dropped unread, which the proxy had already forwarded into the socket and the in-process
door never pulled from the upstream (:func:`~conformance_world.buffered`).

The live facts the oracle needs are asserted outright as well, so a door that loses them in
both runs cannot pass by agreeing: ``retry_after_ms``, ``error_code`` and ``should_retry``
of the live error answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance_doors import InProcessDoor, ProxyDoor, run_cell
from conformance_world import SCENARIOS, UPSTREAMS, differences, waits_out_client
from live_provider import LiveProvider
from proxy_process import ProxyFactory

from faultkit.exchange import Request
from faultkit.scenario import Scenario

CHAT = UPSTREAMS["openai"] + "/chat/completions"
MESSAGES = UPSTREAMS["anthropic"] + "/v1/messages"
ORDERS = UPSTREAMS["orders"] + "/orders"


def _post(url: str, body: dict) -> Request:
    return Request(
        method="POST",
        url=url,
        headers=(("content-type", "application/json"),),
        body=json.dumps(body).encode(),
    )


def _chat(model: str, text: str, *, stream: bool = False) -> Request:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return _post(CHAT, {**body, "stream": True} if stream else body)


def _message(model: str, text: str, *, stream: bool = False) -> Request:
    body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]}
    return _post(MESSAGES, {**body, "stream": True} if stream else body)


# One app session: every kind of live answer the upstream gives, each its own conversation.
SESSION = [
    _chat("gpt-ok", "where is order 1234?"),
    Request(method="GET", url=f"{ORDERS}/1234"),
    _chat("gpt-ok", "and order 1234, streamed?", stream=True),
    _chat("rate-limited", "rate limit me"),
    _chat("no-quota", "out of quota"),
    _chat("overloaded", "overload me"),
    _message("claude-ok", "where is order 1234?"),
    _message("claude-ok", "and streamed?", stream=True),
    _message("overloaded", "overload me too"),
    Request(method="GET", url=f"{ORDERS}/9999"),
]
ROUTES = ("openai", "anthropic", "orders")
# A door discrepancy this suite finds and the doors do not fix yet goes here as a strict xfail
# (scenario file stem, None for no scenario -> what differs), so its fix shows. None is known:
# the four found here (a stream closed after [DONE], an unread 404 under a whole-body fault,
# no error_code on live errors, a client's read timeout) are fixed.
KNOWN: dict[str | None, str] = {}


@pytest.fixture(scope="module")
def live() -> Iterator[LiveProvider]:
    with LiveProvider() as upstream:
        yield upstream


def urls_of(base: str) -> dict[str, str]:
    return {"openai": f"{base}/v1", "anthropic": base, "orders": base}


@pytest.fixture(scope="module")
def passthrough(live: LiveProvider) -> InProcessDoor:
    door = InProcessDoor(urls_of(live.url), mode="passthrough")
    door.warm(SESSION)
    return door


@pytest.fixture(scope="module")
def proxy(live: LiveProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyDoor]:
    factory = ProxyFactory(tmp_path_factory.mktemp("conformance-passthrough"))
    try:
        door = ProxyDoor(factory, urls_of(live.url), "--mode", "passthrough")
        yield door
        door.close()
    finally:
        factory.close()


def _cases(*, slow: bool) -> list[object]:
    files: list[Path | None] = [] if slow else [None]
    files += [p for p in SCENARIOS if waits_out_client(Scenario.load(p)) == slow]
    cases = []
    for path in files:
        name = path.stem if path else None
        marks = [pytest.mark.slow] if slow else []
        if name in KNOWN:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[name]))
        cases.append(pytest.param(path, marks=marks, id=name or "no-scenario"))
    return cases


def _check(passthrough: InProcessDoor, proxy: ProxyDoor, scenario_file: Path | None) -> None:
    local, remote = run_cell(passthrough, proxy, scenario_file, SESSION)
    scenario = Scenario.load(scenario_file) if scenario_file else None
    lines = differences(local, remote, scenario)
    assert not lines, "the doors disagree on live answers:\n" + "\n".join(lines)
    if scenario is not None:
        # Agreeing is not enough: the scenario's rules must have fired on these live answers
        # (applied, or skipped with a reason), or the cell compared nothing of it.
        assert any(e.faults or e.skipped for e in local.ledger), "no rule fired"


@pytest.mark.parametrize("scenario_file", _cases(slow=False))
def test_live_answers_read_the_same_in_both_doors(
    passthrough: InProcessDoor, proxy: ProxyDoor, scenario_file: Path | None
) -> None:
    _check(passthrough, proxy, scenario_file)


@pytest.mark.parametrize("scenario_file", _cases(slow=True))
def test_live_answers_under_waiting_scenarios(
    passthrough: InProcessDoor, proxy: ProxyDoor, scenario_file: Path
) -> None:
    _check(passthrough, proxy, scenario_file)


def test_live_error_facts_are_in_both_ledgers(passthrough: InProcessDoor, proxy: ProxyDoor) -> None:
    """What the oracle reads from live error answers is there, not merely equal: the
    retry-after (``retry_after_ignored``), the error code (a quota 429 is not retryable) and
    ``x-should-retry``."""
    local, remote = run_cell(passthrough, proxy, None, SESSION)
    got = {}
    for door, run in (("in-process", local), ("proxy", remote)):
        assert [(e.route, e.status) for e in run.ledger] == [
            ("openai", 200),
            ("orders", 200),
            ("openai", 200),
            ("openai", 429),
            ("openai", 429),
            ("openai", 503),
            ("anthropic", 200),
            ("anthropic", 200),
            ("anthropic", 529),
            ("orders", 404),
        ], door
        got[door] = [
            (e.model, e.retry_after_ms, e.error_code, e.should_retry)
            for e in run.ledger
            if e.status and e.status >= 400 and e.route != "orders"
        ]
    expected = [
        ("rate-limited", 2000.0, "rate_limit_exceeded", None),
        ("no-quota", None, "insufficient_quota", None),
        ("overloaded", None, "server_is_overloaded", True),
        ("overloaded", 1500.0, "overloaded_error", True),
    ]
    assert got == {"in-process": expected, "proxy": expected}
