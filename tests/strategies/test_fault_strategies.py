"""The single-fault strategies: HTTP errors with realistic headers, stream cuts at event
boundaries and inside JSON, and bounds that keep every example fast."""

from __future__ import annotations

import json

import pytest
from _samples import CHAT, Source, request
from hypothesis import given, settings

from faultkit.engine import Engine
from faultkit.errors import FaultkitError
from faultkit.faults.http_error import HttpError
from faultkit.formats.sse import parse_events
from faultkit.plan import Reset
from faultkit.scenario import Rule, Scenario
from faultkit.strategies import Limits, fault_specs, http_errors, stream_cuts

FAST = settings(max_examples=80, deadline=None, database=None, derandomize=True)


def _answer(fault, url: str = CHAT):
    """The plan the engine makes for ``url`` with ``fault`` on it, and the ledger entry."""
    engine = Engine(Scenario(name="t", rules=[Rule(fault=fault)]), source=Source())
    selection, plan = engine.handle(request(url), "openai", 0.0)
    return plan, selection.entry


@FAST
@given(fault=http_errors(provider="openai"))
def test_http_errors_carry_the_headers_a_provider_sends(fault: HttpError) -> None:
    plan, _entry = _answer(fault)
    head = plan.head
    assert head is not None and head.status == fault.status
    if fault.retry_after_s is not None:
        assert 1 <= fault.retry_after_s <= 2
        assert head.header("retry-after") == str(int(fault.retry_after_s))
    if fault.retry_after_ms is not None:
        assert head.header("retry-after-ms") == str(fault.retry_after_ms)
    if fault.status in (400, 401, 403, 404, 413, 422) or fault.error_type == "insufficient_quota":
        # Errors no retry can fix carry no retry hint and never say "retry".
        assert fault.retry_after_s is None and fault.retry_after_ms is None
        assert fault.should_retry is not True
    if fault.body is None:
        error = json.loads(plan.body_bytes())["error"]  # the provider's own error shape
        assert error["message"]
    else:
        assert fault.status in (502, 503, 504)
        assert "text/html" in (head.header("content-type") or "")


@FAST
@given(fault=http_errors(statuses=[429], max_retry_after_s=0.05))
def test_a_sub_second_bound_keeps_retry_hints_in_milliseconds(fault: HttpError) -> None:
    assert fault.retry_after_s is None
    assert fault.retry_after_ms is None or 1 <= fault.retry_after_ms <= 50


@FAST
@given(fault=stream_cuts("mid_json"))
def test_mid_json_cuts_leave_an_event_that_does_not_parse(fault) -> None:
    plan, _ = _answer(fault)
    body = plan.body_bytes()
    assert b"[DONE]" not in body
    events = parse_events(body)
    unparsable = [e for e in events if e.data and e.data != "[DONE]" and e.json() is None]
    partial = not body.endswith(b"\n\n")
    assert unparsable or partial


@FAST
@given(fault=stream_cuts("boundary"))
def test_boundary_cuts_end_between_whole_events(fault) -> None:
    plan, _ = _answer(fault)
    body = plan.body_bytes()
    assert b"[DONE]" not in body
    assert body == b"" or body.endswith(b"\n\n")
    assert all(e.json() is not None for e in parse_events(body) if e.data)


def test_stream_cuts_refuse_an_unknown_place() -> None:
    with pytest.raises(FaultkitError, match="mid_json"):
        stream_cuts("middle")


@FAST
@given(fault=fault_specs(limits=Limits(max_delay_ms=40, max_retry_after_s=0.04, max_event=3)))
def test_every_fault_stays_within_its_bounds(fault) -> None:
    params = fault.model_dump()
    for name in ("latency_ms", "delay_ms", "stall_ms", "timeout_ms"):
        if params.get(name) is not None:
            assert 1 <= params[name] <= 40
    if params.get("jitter_ms"):
        assert params["jitter_ms"] <= 40
    for name in ("at_event", "after_events"):
        if params.get(name) is not None and fault.type != "stall":
            assert 0 <= params[name] <= 3
    assert params.get("retry_after_s") is None
    assert params.get("retry_after_ms") is None or params["retry_after_ms"] <= 40
    # Whatever it is, the engine applies it to a stream without error.
    plan, _ = _answer(fault)
    assert plan.actions


def test_a_reset_mid_stream_is_a_stream_cut() -> None:
    """Boundary cuts include a reset after k whole events, as a dropped connection does."""
    seen = set()

    @FAST
    @given(fault=stream_cuts("boundary"))
    def collect(fault) -> None:
        plan, _ = _answer(fault)
        seen.add((fault.type, isinstance(plan.actions[-1], Reset)))

    collect()
    assert ("reset", True) in seen
    assert any(kind == "broken_sse" for kind, _ in seen)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statuses": []}, "at least one status"),
        ({"statuses": [200]}, "400-599"),
        ({"provider": "mistral"}, "openai or anthropic"),
        ({"max_retry_after_s": 0}, "max_retry_after_s"),
    ],
)
def test_http_errors_refuse_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(FaultkitError, match=message):
        http_errors(**kwargs)
