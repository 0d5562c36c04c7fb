"""The pytest side: ``@given(plan=fault_plans(...))`` with the ``faultkit`` fixture and
``faultkit.assert_controlled(..., plan=plan)``, run through pytester.

One fixture serves every example (the engine, its counters, its ledger and the recordings are
reset per plan), a robust bot passes every schedule, and a bot with a weakness fails with the
shrunk schedule in words, as scenario YAML, and the repro command."""

from __future__ import annotations

import textwrap

import pytest
from _world import write_chat_cassette

pytest_plugins = ["pytester"]

TESTS = '''
import json

import httpx
import pytest
from hypothesis import given, seed

from faultkit.oracle import Contract
from faultkit.strategies import chaos_settings, fault_plans, http_errors

CHAT = "https://api.openai.com/v1/chat/completions"


class Unavailable(Exception):
    pass


CONTRACT = Contract(error_types=[Unavailable], max_attempts=3, min_backoff_ms=1)
PLANS = fault_plans(
    routes=["openai"],
    max_faults=3,
    calls=range(1, 3),
    faults=[http_errors(statuses=(500, 503), max_retry_after_s=0.002), "latency", "broken_sse"],
    max_delay_ms=3,
)


def bot(http_client, crash_on_500=False):
    """One streamed question; any failure is the declared error. With crash_on_500, a 500
    escapes as an undeclared RuntimeError."""
    try:
        with http_client.stream("POST", CHAT, json={"model": "gpt-4o-mini", "stream": True}) as r:
            if r.status_code == 500 and crash_on_500:
                raise RuntimeError("boom")
            if r.status_code >= 400:
                raise Unavailable(r.status_code)
            lines = [line for line in r.iter_lines() if line.startswith("data:")]
    except httpx.HTTPError as exc:
        raise Unavailable(str(exc)) from exc
    if not lines or lines[-1] != "data: [DONE]":
        raise Unavailable("incomplete")
    try:
        chunks = [json.loads(line[5:]) for line in lines[:-1]]
    except ValueError as exc:
        raise Unavailable("broken event") from exc
    return json.loads("".join(c["choices"][0]["delta"].get("content") or "" for c in chunks))


LEDGER_SIZES = []


@pytest.mark.faultkit(cassette="chat.yaml", playback="repeat")
@seed(4)
@chaos_settings(max_examples=40, database=None)
@given(plan=PLANS)
def test_robust_bot(faultkit, plan):
    faultkit.assert_controlled(bot, plan=plan, contract=CONTRACT)
    # Each example starts from a clean engine: its ledger holds only its own exchanges.
    LEDGER_SIZES.append(len(faultkit.ledger))
    assert len(faultkit.ledger) == 1


@pytest.mark.faultkit(cassette="chat.yaml", playback="repeat")
@seed(4)
@chaos_settings(max_examples=40, database=None)
@given(plan=PLANS)
def test_bot_that_crashes_on_500(faultkit, plan):
    faultkit.assert_controlled(bot, crash_on_500=True, plan=plan, contract=CONTRACT)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    write_chat_cassette(pytester.path / "chat.yaml")
    pytester.makepyfile(test_bot=textwrap.dedent(TESTS))
    return pytester


def test_a_property_over_fault_plans_runs_with_the_faultkit_fixture(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "-p", "no:locust", "-p", "no:benchmark")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    # No health-check complaint about the function-scoped fixture.
    assert "function-scoped fixture" not in out
    # The failure: the verdict, the shrunk schedule in words, as YAML, and the repro command.
    assert "verdict crash (UNCONTROLLED)" in out
    assert "minimal failing fault schedule: call 1 of openai → 500" in out
    assert "    - name: openai-call1-http_error" in out
    assert "        status: 500" in out
    assert "reproduce: pytest 'test_bot.py::test_bot_that_crashes_on_500'" in out
