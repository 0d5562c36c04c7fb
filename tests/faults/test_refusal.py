"""refusal: the model declines (``refusal``), the provider's filter withholds the answer
(``content_filter``), or the model says nothing (``empty_answer``). Checked on real recorded
answers of every provider format, body and stream, and through the real openai and anthropic
SDKs behind faultkit's in-process door (FaultkitSession): ``message.refusal``,
``finish_reason``, the Responses refusal content part and ``status``, Anthropic's
``stop_reason``, and no tool call left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from _fault_samples import REAL, ctx_for, html_plan, real_plan
from pydantic import BaseModel, TypeAdapter, ValidationError
from test_token_limit import one_answer_cassette

from faultkit.faults import FAULTS, FaultSpec
from faultkit.faults.answer import Answer
from faultkit.faults.refusal import DEFAULT_TEXT, Refusal
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import parse_events
from faultkit.session import FaultkitSession

CHAT = WireFormat.openai_chat
RESPONSES = WireFormat.openai_responses
ANTHROPIC = WireFormat.anthropic_messages
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"
CHAT_TOOL = REAL / "pydantic-ai__test_openai_tool_output.yaml"
TWO_TURN_STREAM = REAL / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
RESPONSES_STREAM = REAL / "llm__test_responses_tool_use_streaming.yaml"
ANTHROPIC_TOOL = REAL / "pydantic-ai__test_anthropic_tool_output.yaml"
ANTHROPIC_TOOL_STREAM = REAL / "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
USER = [{"role": "user", "content": "hi"}]
KINDS = ["refusal", "content_filter", "empty_answer"]
CHAT_URL = "https://api.openai.com/v1/chat/completions"


def openai_client(session: FaultkitSession) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=session.client(),
        max_retries=0,
    )


def anthropic_client(session: FaultkitSession) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="https://api.anthropic.com",
        http_client=session.httpx2_client(),
        max_retries=0,
    )


ANSWERS = [
    pytest.param(SIMPLE.name, 0, CHAT, id="chat-body-text"),
    pytest.param(CHAT_TOOL.name, 0, CHAT, id="chat-body-tool"),
    pytest.param(TWO_TURN_STREAM.name, 0, CHAT, id="chat-stream-tool"),
    pytest.param(TWO_TURN_STREAM.name, 1, CHAT, id="chat-stream-text"),
    pytest.param(RESPONSES_STREAM.name, 0, RESPONSES, id="responses-stream-tool"),
    pytest.param(RESPONSES_STREAM.name, 1, RESPONSES, id="responses-stream-text"),
    pytest.param(ANTHROPIC_TOOL.name, 1, ANTHROPIC, id="anthropic-body-tool"),
    pytest.param(ANTHROPIC_TOOL_STREAM.name, 0, ANTHROPIC, id="anthropic-stream-tool"),
    pytest.param(
        "pydantic-ai__test_anthropic_model_thinking_part_stream.yaml",
        0,
        ANTHROPIC,
        id="anthropic-stream-text",
    ),
]
STOPS = {
    (CHAT, "refusal"): "stop",
    (CHAT, "content_filter"): "content_filter",
    (CHAT, "empty_answer"): "stop",
    (ANTHROPIC, "refusal"): "refusal",
    (ANTHROPIC, "content_filter"): "refusal",
    (ANTHROPIC, "empty_answer"): "end_turn",
}


@pytest.mark.parametrize(("name", "index", "fmt"), ANSWERS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_format_loses_its_answer_and_its_tool_calls(
    name: str, index: int, fmt: WireFormat, kind: str
) -> None:
    plan = real_plan(name, index)
    before = Answer.read(plan, fmt)
    assert before is not None
    new, (said, *ending) = Refusal(kind=kind).apply(plan, ctx_for(fmt))
    after = Answer.read(new, fmt)
    assert after is not None and after.tool_calls() == []
    assert all(t.text == "" for t in after.output_texts())
    assert said.value == (DEFAULT_TEXT if kind == "refusal" else "")
    assert said.original["tool_calls"] == [c.name for c in before.tool_calls()]
    if plan.is_sse:  # every event still parses
        assert all(
            e.json() is not None or e.is_done_sentinel for e in parse_events(new.body_bytes())
        )
    else:
        json.loads(new.body_bytes())
    if (fmt, kind) in STOPS:
        assert stops_of(new, fmt) == {STOPS[fmt, kind]}
        assert all(a.value != a.original for a in ending)


def stops_of(plan: Any, fmt: WireFormat) -> set[str]:
    """Every finish or stop reason ``plan`` sends (Chat Completions, Anthropic)."""
    docs = (
        [e.json() for e in parse_events(plan.body_bytes())]
        if plan.is_sse
        else [json.loads(plan.body_bytes())]
    )
    out: set[str] = set()
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        for choice in doc.get("choices") or []:
            if choice.get("finish_reason"):
                out.add(choice["finish_reason"])
        for holder in (doc, doc.get("delta") or {}):
            if fmt == ANTHROPIC and holder.get("stop_reason"):
                out.add(holder["stop_reason"])
    return out


@pytest.mark.parametrize(
    ("plan", "fmt"),
    [
        (real_plan("opentelemetry-python-contrib__test_chat_completion_404.yaml"), CHAT),
        (html_plan(), CHAT),
        (real_plan("pydantic-ai__test_invalid_response.yaml"), CHAT),
    ],
    ids=["error-404", "html", "not-an-answer"],
)
def test_what_is_not_an_answer_is_left_alone(plan: Any, fmt: WireFormat) -> None:
    assert Refusal().apply(plan, ctx_for(fmt)) == (plan, [])


def test_registered_and_validated_like_any_fault() -> None:
    assert FAULTS["refusal"] is Refusal
    spec = TypeAdapter(FaultSpec).validate_python({"type": "refusal", "kind": "empty_answer"})
    assert spec == Refusal(kind="empty_answer") and spec.params()["text"] == DEFAULT_TEXT
    for bad in ({"kind": "nope"}, {"text": ""}, {"txt": "x"}):
        with pytest.raises(ValidationError):
            TypeAdapter(FaultSpec).validate_python({"type": "refusal", **bad})
    assert spec.applies_to(RESPONSES) and not spec.applies_to(WireFormat.json)


# -- what the real SDKs see ---------------------------------------------------------------------


class Order(BaseModel):
    order_id: str
    total: float


def structured_cassette(tmp_path: Path) -> Path:
    content = json.dumps({"order_id": "A-1042", "total": 42.5})
    body = {
        "id": "chatcmpl-so2",
        "object": "chat.completion",
        "created": 1733000000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    }
    return one_answer_cassette(tmp_path / "structured.yaml", CHAT_URL, body)


def test_openai_structured_output_refusal_field(tmp_path: Path) -> None:
    with FaultkitSession(cassettes=[structured_cassette(tmp_path)], playback="repeat") as session:
        session.inject({"type": "refusal", "text": "I can't help with that."})
        client = openai_client(session)
        raw = client.chat.completions.create(model="gpt-4o", messages=USER)
        parsed = client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Order)
    assert raw.choices[0].message.refusal == "I can't help with that."
    assert raw.choices[0].message.content is None
    assert raw.choices[0].finish_reason == "stop"
    message = parsed.choices[0].message
    assert message.refusal == "I can't help with that." and message.parsed is None


def test_openai_content_filter_finish_reason(tmp_path: Path) -> None:
    with FaultkitSession(cassettes=[structured_cassette(tmp_path)], playback="repeat") as session:
        session.inject({"type": "refusal", "kind": "content_filter"})
        client = openai_client(session)
        raw = client.chat.completions.create(model="gpt-4o", messages=USER)
        with pytest.raises(openai.ContentFilterFinishReasonError):
            client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Order)
    assert raw.choices[0].finish_reason == "content_filter"
    assert raw.choices[0].message.content == "" and raw.choices[0].message.refusal is None


def test_openai_chat_stream_tool_call_becomes_a_streamed_refusal() -> None:
    with FaultkitSession(cassettes=[TWO_TURN_STREAM]) as session:
        session.inject({"type": "refusal"})
        client = openai_client(session)
        chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
        with client.chat.completions.stream(model="m", messages=USER) as stream:
            final = stream.get_final_completion()
    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks if c.choices)
    assert refusal == DEFAULT_TEXT
    assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    message = final.choices[0].message
    assert message.refusal == DEFAULT_TEXT and message.tool_calls in (None, [])
    assert not message.content


def test_openai_chat_body_empty_answer_has_no_content_and_no_tool_call() -> None:
    with FaultkitSession(cassettes=[CHAT_TOOL], match_on=("method", "path")) as session:
        session.inject({"type": "refusal", "kind": "empty_answer"})
        completion = openai_client(session).chat.completions.create(model="m", messages=USER)
    message = completion.choices[0].message
    assert message.content == "" and message.tool_calls is None and message.refusal is None
    assert completion.choices[0].finish_reason == "stop"


def test_openai_responses_stream_refusal_part_and_content_filter() -> None:
    with FaultkitSession(cassettes=[RESPONSES_STREAM]) as session:
        session.inject({"type": "refusal"})
        with openai_client(session).responses.stream(model="gpt-4.1", input="x") as stream:
            events = [e.type for e in stream]
            final = stream.get_final_response()
    with FaultkitSession(cassettes=[RESPONSES_STREAM]) as session:
        session.inject({"type": "refusal", "kind": "content_filter"})
        client = openai_client(session)
        filtered = list(client.responses.create(model="gpt-4.1", input="x", stream=True))
    assert "response.refusal.delta" in events and "response.refusal.done" in events
    assert final.status == "completed"
    (message,) = final.output
    assert message.type == "message"
    assert [(p.type, getattr(p, "refusal", None)) for p in message.content] == [
        ("refusal", DEFAULT_TEXT)
    ]
    assert final.output_text == ""
    last = filtered[-1]
    assert last.type == "response.incomplete" and last.response.status == "incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "content_filter"
    seq = [e.sequence_number for e in filtered]
    assert seq == sorted(seq) and len(set(seq)) == len(seq)


def test_openai_responses_body_refusal(tmp_path: Path) -> None:
    body = {
        "id": "resp_2",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "model": "gpt-4o",
        "output": [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
                "status": "completed",
            }
        ],
        "usage": {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11},
        "error": None,
        "incomplete_details": None,
    }
    url = "https://api.openai.com/v1/responses"
    cassette = one_answer_cassette(tmp_path / "resp.yaml", url, body)
    with FaultkitSession(cassettes=[cassette]) as session:
        session.inject({"type": "refusal", "text": "No."})
        response = openai_client(session).responses.create(model="gpt-4o", input="x")
    assert response.status == "completed"
    (message,) = response.output
    assert message.type == "message" and message.content[0].type == "refusal"
    assert message.content[0].refusal == "No."


@pytest.mark.parametrize(("kind", "stop"), [("refusal", "refusal"), ("empty_answer", "end_turn")])
def test_anthropic_body_stop_reason(kind: str, stop: str) -> None:
    with FaultkitSession(cassettes=[ANTHROPIC_TOOL], match_on=("method", "path")) as session:
        session.inject({"type": "refusal", "kind": kind})
        message = anthropic_client(session).messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=USER
        )
    assert message.stop_reason == stop
    assert message.content == []


def test_anthropic_stream_stop_reason_refusal_without_tool_use() -> None:
    with FaultkitSession(cassettes=[ANTHROPIC_TOOL_STREAM]) as session:
        session.inject({"type": "refusal"})
        with anthropic_client(session).messages.stream(
            model="claude-3-5-sonnet", max_tokens=64, messages=USER
        ) as stream:
            kinds = [e.type for e in stream]
            final = stream.get_final_message()
    assert final.stop_reason == "refusal"
    assert final.content == []
    assert kinds[0] == "message_start" and "message_stop" in kinds


def test_described_in_words() -> None:
    from faultkit.strategies import describe_fault

    assert describe_fault(Refusal()) == f"model refuses: {DEFAULT_TEXT!r}"
    assert describe_fault(Refusal(kind="content_filter")) == "answer withheld by the content filter"
    assert describe_fault(Refusal(kind="empty_answer")) == "empty answer, no tool call"


def test_through_the_real_proxy_process(tmp_path: Path) -> None:
    """The same fault asked for per request (``x-faultkit-fault``) of a real ``faultkit proxy``:
    the anthropic SDK streams the bundled support answer over a loopback socket, refused."""
    import yaml
    from proxy_process import SUPPORT_CASSETTES, ProxyFactory

    recorded = yaml.safe_load(
        (SUPPORT_CASSETTES / "anthropic_order_status_stream.yaml").read_text()
    )
    body = json.loads(recorded["interactions"][0]["request"]["body"])
    body.pop("stream", None)
    factory = ProxyFactory(tmp_path)
    try:
        proxy = factory("--cassettes", str(SUPPORT_CASSETTES))
        client = anthropic.Anthropic(
            base_url=proxy.door("anthropic"),
            api_key="sk-ant-test",
            max_retries=0,
            timeout=10,
            default_headers={"x-faultkit-fault": "type=refusal"},
        )
        with client.messages.stream(**body) as stream:
            final = stream.get_final_message()
        (entry,) = proxy.ledger()
    finally:
        factory.close()
    assert final.stop_reason == "refusal" and final.content == []
    (fault,) = entry["faults"]
    assert fault["type"] == "refusal"
    assert fault["alterations"][0]["original"]["tool_calls"] == ["get_order"]
