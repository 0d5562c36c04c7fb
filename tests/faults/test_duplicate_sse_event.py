"""duplicate_sse_event: one event of a provider stream sent more than once.

The fault is the demonstration of "a fault is one module + one test" (issue 14): it lives in
``faultkit/faults/duplicate_sse_event.py`` and here, and the last tests show that the registry,
the scenario schema, the search, the words of a failure report, the README's faults table
and the oracle all know it without any other hand-written file naming it.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from _fault_samples import openai_client, real_setup, sse_plan
from pydantic import TypeAdapter, ValidationError

from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults import FAULTS, MEANING_FAULTS, FaultSpec
from faultkit.faults.base import FaultContext
from faultkit.faults.duplicate_sse_event import DuplicateSSEEvent, repeated_words
from faultkit.formats.detect import WireFormat
from faultkit.generated import faults_table
from faultkit.oracle import Contract, capture, judge
from faultkit.oracle.checks.exercised import engine_rules
from faultkit.scenario import Scenario
from faultkit.session import FaultkitSession
from faultkit.strategies import FAULT_STRATEGIES, describe_fault

REPO = Path(__file__).resolve().parents[2]
WORDS = ["Your", " order", " ships", " on", " Monday."]
TEXT = "".join(WORDS)
ASK = [{"role": "user", "content": "When does my order ship?"}]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-D1",
        "object": "chat.completion.chunk",
        "created": 1714000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chat_stream() -> bytes:
    """Chat Completions: the role chunk (no text), one chunk per word, the finish, [DONE]."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": word}) for word in WORDS]
    chunks.append(_chunk({}, "stop"))
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


def responses_stream() -> bytes:
    """Responses: created, one numbered text delta per word, done, completed."""
    response = {"id": "resp_D1", "object": "response", "created_at": 1714000000}
    response |= {"model": "gpt-4o-mini", "output": [], "status": "in_progress"}
    where = {"item_id": "msg_D1", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": response}]
    events += [{"type": "response.output_text.delta", **where, "delta": w} for w in WORDS]
    events.append({"type": "response.output_text.done", **where, "text": TEXT})
    events.append({"type": "response.completed", "response": response | {"status": "completed"}})
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def chat_ctx() -> FaultContext:
    request = Request(method="POST", url="https://api.openai.com/v1/chat/completions", body=b"{}")
    return FaultContext(request=request, format=WireFormat.openai_chat, rng=random.Random(0))


def sdk_text(client: openai.OpenAI) -> str:
    """What an app that appends the streamed deltas (as the SDK hands them over) shows."""
    text = ""
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
    return text


# -- the transform ----------------------------------------------------------------------------
def test_by_default_the_first_event_that_changes_the_answer_is_sent_twice() -> None:
    plan = sse_plan(chat_stream())
    new, alterations = DuplicateSSEEvent().apply(plan, chat_ctx())
    events = plan.events()
    # Event 0 (the role, no text) would change nothing; event 1 carries "Your".
    assert new.events() == [events[0], events[1], events[1], *events[2:]]
    (alt,) = alterations
    assert (alt.path, alt.action) == ("response.events[1]", "added")
    assert (alt.original, alt.value) == ("Your", "YourYour")
    # The real openai SDK, fed the faulted stream, hands the app the word twice.
    assert sdk_text(openai_client(new)) == "YourYour order ships on Monday."
    assert sdk_text(openai_client(plan)) == TEXT


def test_a_chosen_event_is_sent_the_given_number_of_times() -> None:
    plan = sse_plan(chat_stream())
    new, (alt,) = DuplicateSSEEvent(at_event=2, times=3).apply(plan, chat_ctx())
    assert len(new.events()) == len(plan.events()) + 2
    assert sdk_text(openai_client(new)) == "Your order order order ships on Monday."
    assert (alt.original, alt.value) == ("order", "order order order")


def test_an_event_past_the_end_changes_nothing_and_says_so() -> None:
    plan = sse_plan(chat_stream())
    new, alterations = DuplicateSSEEvent(at_event=99).apply(plan, chat_ctx())
    assert new == plan and alterations == []  # the engine records the rule as skipped


def test_on_a_live_stream_nothing_is_held_back() -> None:
    """Fed action by action (a live upstream), each action passes at once, the copies right
    behind the original, and the result is the replayed form's."""
    plan = sse_plan(chat_stream())
    fault = DuplicateSSEEvent(at_event=3)
    transform = fault.stream(chat_ctx())
    out = []
    for action in plan.actions:
        passed = transform.feed(action)
        assert passed[0] == action and all(p == action for p in passed)
        out.extend(passed)
    out.extend(transform.end())
    assert plan.replace(out) == fault.apply(plan, chat_ctx()).plan
    assert transform.alterations[0].value == "ships ships"


@pytest.mark.parametrize(
    ("cassette", "fmt"),
    [
        ("pydantic-ai__test_anthropic_model_thinking_part_stream.yaml", "anthropic_messages"),
        ("openllmetry__test_anthropic_tools_streaming_legacy.yaml", "anthropic_messages"),
        ("llm__test_responses_tool_use_streaming.yaml", "openai_responses"),
        ("pydantic-ai__test_google_model_stream.yaml", "gemini"),
        ("pydantic-ai__test_run_stream_sync_streams_real_model.yaml", "openai_chat"),
    ],
)
def test_real_recorded_streams_get_one_event_more_and_the_words_it_repeats(
    cassette: str, fmt: str
) -> None:
    plan, ctx = real_setup(cassette)
    assert ctx.format == fmt
    new, (alt,) = DuplicateSSEEvent().apply(plan, ctx)
    index = int(re.fullmatch(r"response\.events\[(\d+)\]", alt.path).group(1))
    events = plan.events()
    assert new.events() == [*events[: index + 1], events[index], *events[index + 1 :]]
    # The evidence: words the client now shows that the recording never had.
    assert alt.value and alt.original and alt.original in alt.value != alt.original


def test_repeated_words_are_whole_words_absent_from_the_recording() -> None:
    assert repeated_words(TEXT, "Your order order ships on Monday.") == ("order", "order order")
    # "the the" was already there: widened to words the recording does not have.
    assert repeated_words("the the end", "the the the end") == ("the the end", "the the the end")
    assert repeated_words("a b", "a b b b", copies=2) == ("b", "b b b")
    assert repeated_words(TEXT, TEXT) is None


def test_parameters_are_validated() -> None:
    for bad in ({"times": 1}, {"at_event": -1}, {"times": 2, "every": 1}):
        with pytest.raises(ValidationError):
            TypeAdapter(FaultSpec).validate_python({"type": "duplicate_sse_event", **bad})


# -- the oracle -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recording:
    response: Response
    source: str


class StreamStore:
    """Answers every chat or responses request with its recorded stream."""

    def match(self, request: Request) -> Recording:
        head = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
        if request.path.endswith("/responses"):
            return Recording(Response(head=head, body=responses_stream()), "memory#responses")
        return Recording(Response(head=head, body=chat_stream()), "memory#chat")


def judged(app: Any, fault: dict[str, Any]) -> tuple[Any, Any]:
    """``app`` run on the real openai SDK through faultkit's in-process door, ``fault`` on
    every call, then judged with the fault's rule in force."""
    fk = FaultkitSession(store=StreamStore())
    fk.inject(fault, name="dup")
    with fk:
        llm = openai.OpenAI(
            api_key="test", base_url="https://api.openai.com/v1", http_client=fk.client()
        )
        result = capture(app, llm)
        return judge(fk.ledger, result, Contract(), rules=engine_rules(fk.engine)), result


def appends_chat_deltas(llm: openai.OpenAI) -> str:
    return sdk_text(llm)


def drops_replayed_events(llm: openai.OpenAI) -> str:
    """A careful Responses app: an event whose sequence_number it has seen is a replay."""
    seen: set[int] = set()
    text = ""
    for event in llm.responses.create(model="gpt-4o-mini", input="When?", stream=True):
        if event.sequence_number in seen:
            continue
        seen.add(event.sequence_number)
        if event.type == "response.output_text.delta":
            text += event.delta
    return text


def appends_responses_deltas(llm: openai.OpenAI) -> str:
    text = ""
    for event in llm.responses.create(model="gpt-4o-mini", input="When?", stream=True):
        if event.type == "response.output_text.delta":
            text += event.delta
    return text


def test_an_app_that_shows_the_repeated_words_leaks_an_invalid_answer() -> None:
    verdict, result = judged(appends_chat_deltas, {"type": "duplicate_sse_event", "at_event": 3})
    assert result.value == "Your order ships ships on Monday."
    assert verdict.kind == "invalid_output_leaked", verdict.explain()
    assert verdict.headline.summary == (
        "returned data a fault made wrong as a valid answer: added value at "
        "response.events[3]: 'ships ships' appears in the text at (the whole answer)"
    )
    assert verdict.headline.entry_ids == [1]


def test_the_same_on_responses_and_an_app_that_drops_replays_is_controlled() -> None:
    fault = {"type": "duplicate_sse_event", "at_event": 2}
    leaked, result = judged(appends_responses_deltas, fault)
    assert result.value == "Your order order ships on Monday."
    assert leaked.kind == "invalid_output_leaked", leaked.explain()
    careful, result = judged(drops_replayed_events, fault)
    assert result.value == TEXT
    # The fault fired (not not_exercised) and nothing wrong got out.
    assert careful.kind == "pass", careful.explain()
    assert careful.headline.values["faults"] == ["duplicate_sse_event"]


# -- one module + one test: everything else found it ------------------------------------------
def test_the_registry_search_words_schema_and_docs_table_know_it() -> None:
    assert FAULTS["duplicate_sse_event"] is DuplicateSSEEvent
    assert "duplicate_sse_event" in MEANING_FAULTS
    assert "duplicate_sse_event" in FAULT_STRATEGIES
    assert describe_fault(DuplicateSSEEvent(at_event=3)) == "stream sends event 3 twice"
    scenario = Scenario.from_yaml(
        "name: dup\nrules:\n  - fault: {type: duplicate_sse_event, times: 3}\n"
    )
    assert scenario.rules[0].fault == DuplicateSSEEvent(times=3)
    schema = json.loads((REPO / "scenarios" / "schema.json").read_text(encoding="utf-8"))
    assert "DuplicateSSEEvent" in json.dumps(schema)
    row = next(line for line in faults_table().splitlines() if "`duplicate_sse_event`" in line)
    assert "`at_event?`, `times?`" in row


def test_no_other_hand_written_file_of_faultkit_names_it() -> None:
    """Outside its module, the package, its docs and the README name it only in generated
    text (the README's faults table, scenarios/schema.json: tests/test_generated.py checks
    both). Other tests may use it, as they use any fault; adding it needed none of them."""
    generated = re.compile(r"<!-- faults-table.*?<!-- /faults-table -->", re.DOTALL)
    own = REPO / "faultkit" / "faults" / "duplicate_sse_event.py"
    files = [*REPO.glob("faultkit/**/*.py"), *REPO.glob("docs/*.md"), REPO / "README.md"]
    named = []
    for path in files:
        if path == own:
            continue
        text = generated.sub("", path.read_text(encoding="utf-8", errors="replace"))
        if "duplicate_sse_event" in text or "DuplicateSSEEvent" in text:
            named.append(str(path.relative_to(REPO)))
    assert named == []


# -- a live stream ----------------------------------------------------------------------------
def test_a_live_stream_gets_the_copy_right_behind_the_original_and_keeps_its_timing() -> None:
    """Pass-through to a real upstream on 127.0.0.1 sending an event every 400 ms: the fault
    acts as the events pass, so the copy follows its original at once and the other events
    keep the upstream's gaps (wide margins: a busy 2-core machine)."""
    from live._sse_upstream import EVENTS, WORDS, sse_upstream

    from faultkit.doors import FaultkitTransport
    from faultkit.engine import Engine
    from faultkit.formats.sse import SSEParser

    rule = {"name": "dup", "fault": {"type": "duplicate_sse_event", "at_event": 2}}
    engine = Engine(Scenario.model_validate({"name": "live", "seed": 1, "rules": [rule]}))
    arrivals: list[tuple[float, str | None]] = []
    parser = SSEParser()
    body = {"model": "gpt-4o-mini", "stream": True, "messages": ASK}
    with sse_upstream(0.4) as upstream:
        transport = FaultkitTransport(engine, mode="passthrough")
        with httpx.Client(transport=transport, timeout=30) as client:
            start = time.monotonic()
            url = upstream.url + "/v1/chat/completions"
            with client.stream("POST", url, json=body) as response:
                for chunk in response.iter_raw():
                    arrivals += [(time.monotonic() - start, e.data) for e in parser.feed(chunk)]
    texts = [json.loads(d)["choices"][0]["delta"]["content"] for _, d in arrivals[:-1]]
    assert texts == [*WORDS[:3], WORDS[2], *WORDS[3:]]
    assert len(arrivals) == len(EVENTS) + 1
    times = [t for t, _ in arrivals]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[2] < 0.2, times  # the copy, at once (the others: about 0.4)
    kept = gaps[:2] + gaps[3:]
    assert all(0.2 <= gap <= 1.0 for gap in kept), times  # the rest, as the upstream sent
    (entry,) = engine.ledger.entries
    (applied,) = entry.faults
    assert applied.type == "duplicate_sse_event"
    assert [(a.path, a.value) for a in applied.alterations] == [("response.events[2]", "has has")]


def test_through_the_real_proxy_process_on_a_live_stream(tmp_path: Path) -> None:
    """The same, through ``faultkit proxy`` in pass-through mode (a subprocess, real sockets),
    the fault asked for per request with ``x-faultkit-fault``."""
    from live._sse_upstream import WORDS, texts_through_proxy

    texts, ledger = texts_through_proxy(tmp_path, "type=duplicate_sse_event;at_event=1;times=3")
    assert texts == [WORDS[0], WORDS[1], WORDS[1], WORDS[1], *WORDS[2:]]
    (entry,) = ledger
    (applied,) = entry["faults"]
    assert applied["type"] == "duplicate_sse_event"
    assert applied["alterations"][0]["value"] == "order order order"
