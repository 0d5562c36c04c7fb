"""truncated_output_accepted: an answer built from a provider stream that never completed.

Every test drives the official openai SDK through a FaultkitSession's in-process door; the
recordings are small streams in the providers' real wire format, served from memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from oracle_world import Recording

from faultkit.exchange import Request, Response, ResponseHead
from faultkit.oracle import Contract, Verdict, acapture, capture, judge
from faultkit.session import FaultkitSession

BASE_URL = "https://api.openai.com/v1"
WORDS = ["The", " parcel", " left", " Leeds", " on", " Monday", " and", " arrives", " Friday."]
FULL_TEXT = "".join(WORDS)
ASK = [{"role": "user", "content": "Where is my parcel?"}]


class StreamCutOff(Exception):
    """The app's declared error: the answer did not arrive whole."""


CONTRACT = Contract(error_types=[StreamCutOff])


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B2",
        "object": "chat.completion.chunk",
        "created": 1714000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chat_stream() -> bytes:
    """A Chat Completions stream: role, one chunk per word, finish_reason, ``[DONE]``."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": word}) for word in WORDS]
    chunks.append(_chunk({}, "stop"))
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


def responses_stream() -> bytes:
    """A Responses stream: created, one text delta per word, done, ``response.completed``."""
    response = {"id": "resp_B2", "object": "response", "created_at": 1714000000}
    response |= {"model": "gpt-4o-mini", "output": [], "status": "in_progress"}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": response}]
    for word in WORDS:
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_B2",
                "output_index": 0,
                "content_index": 0,
                "delta": word,
            }
        )
    events.append(
        {
            "type": "response.output_text.done",
            "item_id": "msg_B2",
            "output_index": 0,
            "content_index": 0,
            "text": FULL_TEXT,
        }
    )
    events.append({"type": "response.completed", "response": response | {"status": "completed"}})
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


class StreamStore:
    """Answers every chat or responses request with its recorded stream, as often as asked."""

    def match(self, request: Request) -> Recording:
        head = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
        if request.path.endswith("/responses"):
            return Recording(Response(head=head, body=responses_stream()), "memory#responses")
        return Recording(Response(head=head, body=chat_stream()), "memory#chat")


def session(*faults: dict[str, Any]) -> FaultkitSession:
    """A session whose first provider call gets each of ``faults`` (in order, one per call)."""
    fk = FaultkitSession(store=StreamStore())
    for nth, fault in enumerate(faults, start=1):
        fk.inject(fault, when={"nth": nth})
    return fk


def client(fk: FaultkitSession, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test", base_url=BASE_URL, http_client=fk.client(**kwargs), max_retries=0
    )


def run(fk: FaultkitSession, app: Callable[[openai.OpenAI], Any], **client_options: Any):
    with fk:
        result = capture(app, client(fk, **client_options))
        return judge(fk.ledger, result, CONTRACT), result


# -- apps ---------------------------------------------------------------------------------------
def returns_what_it_had(llm: openai.OpenAI) -> str:
    """The planted bug: whatever arrived before the stream broke is the answer."""
    text = ""
    try:
        for chunk in llm.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True):
            for choice in chunk.choices:
                text += choice.delta.content or ""
    except (openai.APIError, json.JSONDecodeError):
        pass
    return text


def stream_whole(llm: openai.OpenAI) -> str:
    """One streamed answer, or StreamCutOff when it broke or ended without a finish reason."""
    text, finish = "", None
    try:
        for chunk in llm.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True):
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
    except (openai.APIError, json.JSONDecodeError) as exc:
        raise StreamCutOff(f"stream broke: {type(exc).__name__}") from None
    if finish is None:
        raise StreamCutOff("the stream ended without a finish reason")
    return text


def retries_once(llm: openai.OpenAI) -> str:
    try:
        return stream_whole(llm)
    except StreamCutOff:
        return stream_whole(llm)


def cut(verdict: Verdict) -> dict[str, Any]:
    assert verdict.kind == "truncated_output_accepted", verdict.explain()
    (evidence,) = verdict.headline.values["cuts"]
    return evidence


# -- the verdict --------------------------------------------------------------------------------
def test_text_kept_from_a_stream_that_closed_mid_event_is_flagged() -> None:
    fk = session({"type": "broken_sse", "kind": "cut_mid_event", "at_event": 5, "end": "close"})
    verdict, result = run(fk, returns_what_it_had)
    # The SDK ended the stream without an error; the app returned the first four words.
    assert result.value == "".join(WORDS[:4]) and result.value != FULL_TEXT
    evidence = cut(verdict)
    assert evidence["entry"] == 1 and evidence["route"] == "openai"
    assert "cut_mid_event" in evidence["how"] and evidence["events_delivered"] == 5
    assert 0 < evidence["bytes_delivered"] < len(chat_stream())
    assert verdict.headline.entry_ids == [1]
    assert "#1 on openai" in verdict.headline.summary
    assert verdict.headline.values["answer"] == result.value


@pytest.mark.parametrize(
    ("fault", "how"),
    [
        ({"type": "broken_sse", "kind": "cut_mid_event", "at_event": 3}, "cut_mid_event"),
        ({"type": "reset", "at": "mid_body", "after_events": 4}, "reset mid_body after 4 events"),
        ({"type": "stall", "stall_ms": 1, "after_events": 4, "then": "close"}, "stall then close"),
        ({"type": "stall", "stall_ms": 1, "after_events": 4, "then": "reset"}, "stall then reset"),
        ({"type": "malformed_body", "kind": "truncated_json"}, "truncated_json"),
        (
            {"type": "broken_sse", "kind": "invalid_data_line", "at_event": 6, "end": "close"},
            "invalid_data_line",
        ),
    ],
)
def test_every_way_a_stream_is_cut_is_flagged(fault: dict[str, Any], how: str) -> None:
    verdict, result = run(session(fault), returns_what_it_had)
    assert result.value != FULL_TEXT
    assert how in cut(verdict)["how"]


def test_an_app_that_retries_and_answers_from_the_whole_stream_is_not_flagged() -> None:
    fk = session({"type": "broken_sse", "kind": "cut_mid_event", "at_event": 5, "end": "close"})
    verdict, result = run(fk, retries_once)
    assert result.value == FULL_TEXT
    assert not verdict.has("truncated_output_accepted"), verdict.explain()
    assert verdict.controlled, verdict.explain()


def test_an_app_that_reports_the_cut_as_its_error_is_controlled() -> None:
    fk = session({"type": "reset", "at": "mid_body", "after_events": 4})
    verdict, _ = run(fk, stream_whole)
    assert verdict.kind == "controlled_error", verdict.explain()


def test_a_cut_on_every_attempt_is_still_flagged() -> None:
    def keeps_the_retry(llm: openai.OpenAI) -> str:
        try:
            return stream_whole(llm)
        except StreamCutOff:
            return returns_what_it_had(llm)  # the retry is cut as well

    faults = [{"type": "broken_sse", "kind": "cut_mid_event", "at_event": n} for n in (3, 6)]
    verdict, result = run(session(*faults), keeps_the_retry)
    assert result.value == "".join(WORDS[:5])
    assert verdict.kind == "truncated_output_accepted"
    assert verdict.headline.entry_ids == [1, 2]
    assert "(+1 more cut)" in verdict.headline.summary


def test_a_read_timeout_in_the_middle_of_the_stream_is_a_cut() -> None:
    fk = session({"type": "stall", "stall_ms": 400, "after_events": 4})
    verdict, result = run(fk, returns_what_it_had, timeout=httpx.Timeout(5.0, read=0.05))
    assert result.value == "".join(WORDS[:3])
    # A read timeout is a client that gave up waiting (the ledger's client_closed, as the
    # proxy sees it too): cut during the stall.
    assert "during a stall" in cut(verdict)["how"]


async def test_an_app_that_stops_reading_during_a_stall_and_keeps_the_text_is_flagged() -> None:
    async def idle_deadline(llm: openai.AsyncOpenAI) -> str:
        text = ""
        stream = await llm.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
        chunks = stream.__aiter__()
        try:
            while True:
                chunk = await asyncio.wait_for(chunks.__anext__(), 0.05)
                for choice in chunk.choices:
                    text += choice.delta.content or ""
        except (StopAsyncIteration, TimeoutError):
            await stream.close()
        return text

    fk = session({"type": "stall", "stall_ms": 2000, "after_events": 4, "heartbeat_ms": 10})
    with fk:
        llm = openai.AsyncOpenAI(
            api_key="test", base_url=BASE_URL, http_client=fk.async_client(), max_retries=0
        )
        result = await acapture(idle_deadline, llm)
        verdict = judge(fk.ledger, result, CONTRACT)
    assert result.value == "".join(WORDS[:3])
    assert fk.ledger[0].ending == "client_closed"
    assert "during a stall" in cut(verdict)["how"]


def test_a_missing_done_after_the_finish_reason_is_not_a_cut() -> None:
    # [DONE] carries nothing and the SDK never shows it; the finish reason came before it.
    verdict, result = run(
        session({"type": "broken_sse", "kind": "missing_terminator"}), returns_what_it_had
    )
    assert result.value == FULL_TEXT
    assert verdict.kind == "pass", verdict.explain()


def test_a_responses_stream_without_its_completed_event_is_a_cut() -> None:
    # On the Responses API the terminal event is what says the response completed.
    def deltas(llm: openai.OpenAI) -> str:
        events = llm.responses.create(model="gpt-4o-mini", input="Where is my parcel?", stream=True)
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    verdict, result = run(session({"type": "broken_sse", "kind": "missing_terminator"}), deltas)
    assert result.value == FULL_TEXT
    assert "missing_terminator" in cut(verdict)["how"]

    verdict, _ = run(session(), deltas)
    assert verdict.kind == "pass", verdict.explain()


def test_an_empty_answer_carries_nothing_from_the_cut() -> None:
    fk = session({"type": "reset", "at": "mid_body", "after_events": 4})
    verdict, _ = run(fk, lambda llm: returns_what_it_had(llm) and "")
    assert not verdict.has("truncated_output_accepted")
