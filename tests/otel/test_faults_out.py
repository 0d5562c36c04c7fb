"""Faults out: what faultkit injected shows in the app's own trace, as ``faultkit.fault``
events on the span of the call it hit (real openai-v2 instrumentation, real SDK, spans read
back from the SDK's in-memory exporter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import CASSETTE, Traced
from proxy_process import ProxyFactory

from faultkit.ledger import AppliedFault, LedgerEntry
from faultkit.otel.collector import OtlpCollector
from faultkit.otel.export import EVENT_NAME, fault_attributes
from faultkit.otel.hook import FaultEvent, add_fault_listener
from faultkit.session import FaultkitSession

QUESTION = [{"role": "user", "content": "Where is order 1234?"}]


def _ask(fk: FaultkitSession, retries: int) -> Any:
    client = openai.OpenAI(api_key="test", http_client=fk.client(), max_retries=retries)
    return client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)


def _fault_events(traced: Traced) -> list[tuple[str, dict[str, Any]]]:
    return [
        (span.name, dict(event.attributes))
        for span in traced.exported.get_finished_spans()
        for event in span.events
        if event.name == EVENT_NAME
    ]


def test_an_injected_429_is_an_event_on_the_chat_span(instrumented: Traced) -> None:
    with FaultkitSession(cassettes=[CASSETTE], seed=7) as fk:
        fk.inject(
            {"type": "http_error", "status": 429, "retry_after_s": 0},
            when={"nth": 1},
            name="burst",
        )
        _ask(fk, retries=2)
        ledger = fk.ledger
    events = _fault_events(instrumented)
    assert len(events) == 1
    span_name, attributes = events[0]
    assert span_name == "chat gpt-4o-mini"  # the app's own span, not one of faultkit's
    assert attributes["faultkit.fault.type"] == "http_error"
    assert attributes["faultkit.fault.rule"] == "burst"
    assert attributes["faultkit.scenario"] == "inline"
    assert attributes["faultkit.seed"] == 7
    assert attributes["faultkit.route"] == "openai"
    assert attributes["faultkit.ledger.entry"] == ledger[0].id
    assert json.loads(attributes["faultkit.fault.params"])["status"] == 429
    altered = json.loads(attributes["faultkit.fault.alterations"])
    assert altered == [a.model_dump(mode="json") for a in ledger[0].faults[0].alterations]


def test_every_applied_fault_is_exported_once_and_skipped_ones_not(instrumented: Traced) -> None:
    """Two applied faults give two events; a rule that found nothing to alter gives none."""
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        fk.inject({"type": "http_error", "status": 503}, when={"calls": "1-2"}, name="down")
        fk.inject(
            {"type": "schema_drift", "target": "output", "op": "drop"}, when={"nth": 3}
        )  # the recorded answer is a tool call, no JSON output: skipped
        _ask(fk, retries=3)
        applied = sum(len(e.faults) for e in fk.ledger)
        skipped = sum(len(e.skipped) for e in fk.ledger)
    events = _fault_events(instrumented)
    assert applied == 2 and skipped == 1
    assert [a["faultkit.fault.rule"] for _, a in events] == ["down", "down"]
    assert [a["faultkit.attempt"] for _, a in events] == [1, 2]


def test_with_no_span_in_progress_a_fault_is_a_span_of_its_own(tracer_provider: Traced) -> None:
    """An uninstrumented app: faultkit makes a short ``faultkit.fault <type>`` span, and keeps
    it out of the app's trace facts."""
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        fk.inject({"type": "http_error", "status": 500}, when={"nth": 1})
        with pytest.raises(openai.InternalServerError):
            _ask(fk, retries=0)
    spans = tracer_provider.exported.get_finished_spans()
    assert [s.name for s in spans] == ["faultkit.fault http_error"]
    assert spans[0].attributes["faultkit.fault.type"] == "http_error"


def test_the_hook_sees_each_fault_the_ledger_records() -> None:
    """The engine calls the hook where it records the fault: what listeners get is the
    ledger's own record."""
    seen: list[FaultEvent] = []
    remove = add_fault_listener(seen.append)
    try:
        with FaultkitSession(cassettes=[CASSETTE], seed=3) as fk:
            fk.inject({"type": "http_error", "status": 503}, when={"nth": 1})
            _ask(fk, retries=1)
            entries = fk.ledger
    finally:
        remove()
    assert [(e.entry.id, e.fault) for e in seen] == [(entries[0].id, entries[0].faults[0])]
    assert seen[0].seed == 3


def test_a_listener_that_raises_does_not_break_the_exchange() -> None:
    def broken(event: FaultEvent) -> None:
        raise RuntimeError("exporter down")

    remove = add_fault_listener(broken)
    try:
        with FaultkitSession(cassettes=[CASSETTE]) as fk:
            fk.inject({"type": "http_error", "status": 503}, when={"nth": 1})
            reply = _ask(fk, retries=1)
    finally:
        remove()
    assert reply.choices[0].message.tool_calls[0].function.name == "get_order"


def test_secrets_in_parameters_and_alterations_are_scrubbed() -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    entry = LedgerEntry(
        id=1,
        route="tools",
        method="GET",
        url="http://t/",
        format="json",
        logical_call=1,
        attempt=1,
        arrival_ms=0.0,
    )
    fault = AppliedFault(
        rule="r",
        type="partial_data",
        params={"api_key": key, "fields": ["token"]},
        alterations=[{"path": "auth", "action": "removed", "original": f"Bearer {key}"}],
    )
    attributes = fault_attributes(FaultEvent(entry=entry, fault=fault, scenario="s", seed=1))
    assert key not in json.dumps(attributes)
    assert json.loads(attributes["faultkit.fault.params"])["fields"] == ["token"]


def test_the_proxy_exports_faults_as_spans_under_the_callers_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ``faultkit proxy`` process, with the standard OTLP variable set, sends each
    fault as a span to the endpoint (here faultkit's own collector), a child of the span
    named by the request's ``traceparent``."""
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    with OtlpCollector() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.traces_endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        factory = ProxyFactory(tmp_path)
        try:
            proxy = factory("--only", "openai", "--cassettes", str(CASSETTE))
            scenario = "name: burst\nseed: 9\nrules:\n  - match: {route: openai}\n"
            scenario += "    fault: {type: http_error, status: 429}\n"
            httpx.post(
                f"{proxy.control}/faultkit/scenario",
                content=scenario.encode(),
                headers={"content-type": "application/yaml"},
            ).raise_for_status()
            answer = httpx.post(
                f"{proxy.door('openai')}/chat/completions",
                json={"model": "gpt-4o-mini", "messages": QUESTION},
                headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
            )
            assert answer.status_code == 429
            arrived = collector.wait(lambda spans: bool(spans), timeout_s=10)
        finally:
            factory.close()
        err = factory.started[0].err.read_text() if factory.started else ""
    assert arrived, err
    (span,) = collector.take()
    assert span.name == "faultkit.fault http_error"
    assert (span.trace_id, span.parent_span_id) == (trace_id, parent_id)
    assert span.attributes["faultkit.scenario"] == "burst"
    assert span.attributes["faultkit.seed"] == 9
    assert "injected faults are exported as OpenTelemetry spans" in err
