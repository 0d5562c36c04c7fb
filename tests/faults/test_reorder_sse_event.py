"""reorder_sse_event: one event of a provider stream delivered after events sent behind it.

Added for issue 14 the way it asks a fault to be added: ``faultkit/faults/reorder_sse_event.py``
and this test; the registry, the schema, the search, the report's words, the README's table
and the oracle know it without another hand-written file naming it (the last tests here).
The streams and the SDK-reading helpers are duplicate_sse_event's test's: the same provider
streams, read the same way.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from _fault_samples import openai_client, real_setup, sse_plan
from pydantic import TypeAdapter, ValidationError
from test_duplicate_sse_event import (
    TEXT,
    appends_chat_deltas,
    chat_ctx,
    chat_stream,
    judged,
    sdk_text,
)

from faultkit.faults import FAULTS, MEANING_FAULTS, FaultSpec
from faultkit.faults.reorder_sse_event import ReorderSSEEvent, moved_words
from faultkit.generated import faults_table
from faultkit.scenario import Scenario
from faultkit.strategies import FAULT_STRATEGIES, describe_fault

REPO = Path(__file__).resolve().parents[2]


# -- the transform ----------------------------------------------------------------------------
def test_by_default_the_first_word_that_extends_the_answer_arrives_one_event_late() -> None:
    plan = sse_plan(chat_stream())
    new, alterations = ReorderSSEEvent().apply(plan, chat_ctx())
    events = plan.events()
    # Event 0 is the role (it begins the text); event 1, "Your", is the first to extend it.
    assert new.events() == [events[0], events[2], events[1], *events[3:]]
    (alt,) = alterations
    assert (alt.path, alt.action) == ("response.events[1]", "replaced")
    assert (alt.original, alt.value) == ("Your order", "orderYour")
    # The real openai SDK, fed the faulted stream, hands the app the words out of order.
    assert sdk_text(openai_client(new)) == " orderYour ships on Monday."
    assert sdk_text(openai_client(plan)) == TEXT


def test_a_chosen_event_is_overtaken_by_the_given_number_of_events() -> None:
    plan = sse_plan(chat_stream())
    new, (alt,) = ReorderSSEEvent(at_event=2, by=2).apply(plan, chat_ctx())
    assert len(new.events()) == len(plan.events())
    assert sdk_text(openai_client(new)) == "Your ships on order Monday."
    assert (alt.original, alt.value) == ("order ships on", "ships on order")


def test_it_never_goes_out_after_the_terminal_marker() -> None:
    """Moved by more events than are left, the late event goes out just before ``[DONE]``:
    the client still reads it (a move past the marker would be a cut)."""
    plan = sse_plan(chat_stream())
    new, (alt,) = ReorderSSEEvent(at_event=3, by=50).apply(plan, chat_ctx())
    events = plan.events()
    assert new.events() == [*events[:3], *events[4:-1], events[3], events[-1]]
    assert sdk_text(openai_client(new)) == "Your order on Monday. ships"
    assert alt.value == "on Monday. ships"


def test_overtaken_only_by_events_without_text_it_is_a_move_the_words_do_not_show() -> None:
    plan = sse_plan(chat_stream())
    new, (alt,) = ReorderSSEEvent(at_event=5).apply(plan, chat_ctx())  # past the finish chunk
    assert sdk_text(openai_client(new)) == TEXT
    assert (alt.action, alt.original, alt.value) == ("moved", 5, 6)


def test_an_event_past_the_end_or_overtaken_by_nothing_changes_nothing_and_says_so() -> None:
    plan = sse_plan(chat_stream())
    for fault in (ReorderSSEEvent(at_event=99), ReorderSSEEvent(at_event=6)):  # 6: before [DONE]
        new, alterations = fault.apply(plan, chat_ctx())
        assert new == plan and alterations == []  # the engine records the rule as skipped


def test_on_a_live_stream_only_the_late_event_waits() -> None:
    """Fed action by action (a live upstream): the late event is held until the events that
    overtake it arrive; each of those passes at once; the result is the replayed form's."""
    plan = sse_plan(chat_stream())
    fault = ReorderSSEEvent(at_event=2, by=2)
    transform = fault.stream(chat_ctx())
    out = []
    held = None
    for action in plan.actions:
        passed = transform.feed(action)
        if held is None and passed == [] and action in plan.actions:
            held = action
            continue
        assert passed[0] == action  # nothing but the late event waits
        out.extend(passed)
    out.extend(transform.end())
    assert held is not None
    assert plan.replace(out) == fault.apply(plan, chat_ctx()).plan


@pytest.mark.parametrize(
    ("cassette", "fmt"),
    [
        ("pydantic-ai__test_anthropic_model_thinking_part_stream.yaml", "anthropic_messages"),
        ("openllmetry__test_anthropic_tools_streaming_legacy.yaml", "anthropic_messages"),
        ("llm__test_responses_tool_use_streaming.yaml", "openai_responses"),
        ("pydantic-ai__test_run_stream_sync_streams_real_model.yaml", "openai_chat"),
    ],
)
def test_real_recorded_streams_get_the_same_events_in_another_order(
    cassette: str, fmt: str
) -> None:
    plan, ctx = real_setup(cassette)
    assert ctx.format == fmt
    new, (alt,) = ReorderSSEEvent().apply(plan, ctx)
    index = int(re.fullmatch(r"response\.events\[(\d+)\]", alt.path).group(1))
    events = plan.events()
    assert new.events() == [*events[:index], events[index + 1], events[index], *events[index + 2 :]]
    # The evidence: the words as a client now shows them, which the recording never had.
    assert alt.action == "replaced" and alt.value and alt.original
    assert sorted(alt.value.replace(" ", "")) == sorted(alt.original.replace(" ", ""))


def test_a_short_gemini_stream_whose_only_later_event_is_the_last_is_left_as_recorded() -> None:
    """Gemini's last chunk is its terminal marker: the one answer-extending event before it has
    nothing to be overtaken by, so the rule is a skip, not a claim."""
    plan, ctx = real_setup("pydantic-ai__test_google_model_stream.yaml")
    new, alterations = ReorderSSEEvent().apply(plan, ctx)
    assert new == plan and alterations == []
    _, (alt,) = ReorderSSEEvent(at_event=0).apply(plan, ctx)
    assert (alt.original, alt.value) == ("The capital of France", "capital of FranceThe")


def test_moved_words_are_whole_words_absent_from_the_recording() -> None:
    assert moved_words(TEXT, "Your ships order on Monday.") == ("order ships", "ships order")
    assert moved_words(TEXT, TEXT) is None
    assert moved_words("ab", "abc") is None  # not a reorder


def test_parameters_are_validated() -> None:
    for bad in ({"by": 0}, {"at_event": -1}, {"by": 101}, {"every": 1}):
        with pytest.raises(ValidationError):
            TypeAdapter(FaultSpec).validate_python({"type": "reorder_sse_event", **bad})


# -- the oracle -------------------------------------------------------------------------------
def sorts_by_sequence_number(llm: openai.OpenAI) -> str:
    """A careful Responses app: deltas put in the order their sequence numbers give."""
    deltas: list[tuple[int, str]] = []
    for event in llm.responses.create(model="gpt-4o-mini", input="When?", stream=True):
        if event.type == "response.output_text.delta":
            deltas.append((event.sequence_number, event.delta))
    return "".join(d for _, d in sorted(deltas))


def appends_responses_deltas(llm: openai.OpenAI) -> str:
    text = ""
    for event in llm.responses.create(model="gpt-4o-mini", input="When?", stream=True):
        if event.type == "response.output_text.delta":
            text += event.delta
    return text


def test_an_app_that_shows_the_scrambled_words_leaks_an_invalid_answer() -> None:
    verdict, result = judged(appends_chat_deltas, {"type": "reorder_sse_event", "at_event": 3})
    assert result.value == "Your order on ships Monday."
    assert verdict.kind == "invalid_output_leaked", verdict.explain()
    assert "'on ships' appears in the text" in verdict.headline.summary


def test_on_responses_an_app_that_orders_by_sequence_number_is_controlled() -> None:
    fault: dict[str, Any] = {"type": "reorder_sse_event", "at_event": 2}
    leaked, result = judged(appends_responses_deltas, fault)
    assert result.value == "Your ships order on Monday."
    assert leaked.kind == "invalid_output_leaked", leaked.explain()
    careful, result = judged(sorts_by_sequence_number, fault)
    assert result.value == TEXT
    assert careful.kind == "pass", careful.explain()  # the fault fired; nothing wrong got out
    assert careful.headline.values["faults"] == ["reorder_sse_event"]


# -- one module + one test: everything else found it ------------------------------------------
def test_the_registry_search_words_schema_and_docs_table_know_it() -> None:
    assert FAULTS["reorder_sse_event"] is ReorderSSEEvent
    assert "reorder_sse_event" in MEANING_FAULTS
    assert "reorder_sse_event" in FAULT_STRATEGIES
    assert describe_fault(ReorderSSEEvent(at_event=3, by=2)) == (
        "stream sends event 3 after the next 2 events"
    )
    scenario = Scenario.from_yaml("name: late\nrules:\n  - fault: {type: reorder_sse_event}\n")
    assert scenario.rules[0].fault == ReorderSSEEvent()
    schema = json.loads((REPO / "scenarios" / "schema.json").read_text(encoding="utf-8"))
    assert "ReorderSSEEvent" in json.dumps(schema)
    row = next(line for line in faults_table().splitlines() if "`reorder_sse_event`" in line)
    assert "`at_event?`, `by?`" in row


def test_no_other_hand_written_file_of_faultkit_names_it() -> None:
    generated = re.compile(r"<!-- faults-table.*?<!-- /faults-table -->", re.DOTALL)
    own = REPO / "faultkit" / "faults" / "reorder_sse_event.py"
    files = [*REPO.glob("faultkit/**/*.py"), *REPO.glob("docs/*.md"), REPO / "README.md"]
    named = []
    for path in files:
        if path == own:
            continue
        text = generated.sub("", path.read_text(encoding="utf-8", errors="replace"))
        if "reorder_sse_event" in text or "ReorderSSEEvent" in text:
            named.append(str(path.relative_to(REPO)))
    assert named == []


# -- a live stream ----------------------------------------------------------------------------
def test_a_live_stream_keeps_its_timing_but_for_the_late_event() -> None:
    """Pass-through to a real upstream on 127.0.0.1 sending an event every 400 ms: the late
    event goes out right behind the one that overtook it; the others keep the upstream's gaps
    (wide margins: a busy 2-core machine)."""
    from live._sse_upstream import EVENTS, WORDS, sse_upstream

    from faultkit.doors import FaultkitTransport
    from faultkit.engine import Engine
    from faultkit.formats.sse import SSEParser

    rule = {"name": "late", "fault": {"type": "reorder_sse_event", "at_event": 1}}
    engine = Engine(Scenario.model_validate({"name": "live", "seed": 1, "rules": [rule]}))
    arrivals: list[tuple[float, str | None]] = []
    parser = SSEParser()
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "?"}]}
    with sse_upstream(0.4) as upstream:
        transport = FaultkitTransport(engine, mode="passthrough")
        with httpx.Client(transport=transport, timeout=30) as client:
            start = time.monotonic()
            url = upstream.url + "/v1/chat/completions"
            with client.stream("POST", url, json=body) as response:
                for chunk in response.iter_raw():
                    arrivals += [(time.monotonic() - start, e.data) for e in parser.feed(chunk)]
    texts = [json.loads(d)["choices"][0]["delta"]["content"] for _, d in arrivals[:-1]]
    assert texts == [WORDS[0], WORDS[2], WORDS[1], *WORDS[3:]]
    assert len(arrivals) == len(EVENTS)
    times = [t for t, _ in arrivals]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[1] < 0.2, times  # the late event, right behind the one that overtook it
    assert 0.5 <= gaps[0] <= 1.6, times  # it waited: the overtaking event came two gaps on
    assert all(0.2 <= gap <= 1.0 for gap in gaps[2:]), times  # the rest, as the upstream sent
    (entry,) = engine.ledger.entries
    (applied,) = entry.faults
    assert applied.type == "reorder_sse_event"
    assert [(a.path, a.value) for a in applied.alterations] == [("response.events[1]", "has order")]


def test_through_the_real_proxy_process_on_a_live_stream(tmp_path: Path) -> None:
    """The same through ``faultkit proxy`` in pass-through mode (a subprocess, real sockets),
    the fault asked for per request with ``x-faultkit-fault``."""
    from live._sse_upstream import WORDS, texts_through_proxy

    texts, ledger = texts_through_proxy(tmp_path, "type=reorder_sse_event;at_event=0;by=2")
    assert texts == [WORDS[1], WORDS[2], WORDS[0], *WORDS[3:]]
    (entry,) = ledger
    (applied,) = entry["faults"]
    assert applied["type"] == "reorder_sse_event"
    assert applied["alterations"][0]["value"] == "order hasYour"
