"""token_limit: the answer stops at the output-token limit with valid framing. Checked on real
recorded answers of every provider format, body and stream, and through the real openai and
anthropic SDKs behind faultkit's in-process door (FaultkitSession), so each assertion is about
what the SDK object exposes: ``finish_reason == "length"``, ``status == "incomplete"``,
``stop_reason == "max_tokens"``, the cut text or arguments, and usage equal to the limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import yaml
from _fault_samples import REAL, ctx_for, html_plan, real_plan
from pydantic import BaseModel, TypeAdapter, ValidationError

from faultkit.faults import FAULTS, FaultSpec
from faultkit.faults.token_limit import TokenLimit, cut_json, cut_text, partial_object
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import parse_events
from faultkit.session import FaultkitSession

CHAT = WireFormat.openai_chat
RESPONSES = WireFormat.openai_responses
ANTHROPIC = WireFormat.anthropic_messages
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"
TWO_TURN_STREAM = REAL / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
RESPONSES_STREAM = REAL / "llm__test_responses_tool_use_streaming.yaml"
ANTHROPIC_TOOL = REAL / "pydantic-ai__test_anthropic_tool_output.yaml"
ANTHROPIC_STREAM = REAL / "pydantic-ai__test_anthropic_model_thinking_part_stream.yaml"
ANTHROPIC_TOOL_STREAM = REAL / "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
USER = [{"role": "user", "content": "hi"}]
LIMIT = {"type": "token_limit"}


def loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


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


def the_fault(session: FaultkitSession, index: int = -1) -> Any:
    """The token_limit fault applied to ledger entry ``index``."""
    (fault,) = session.ledger[index].faults
    assert fault.type == "token_limit"
    return fault


def one_answer_cassette(path: Path, url: str, body: dict[str, Any]) -> Path:
    """A vcrpy cassette at ``path`` holding one JSON answer ``body`` to a POST on ``url``: for
    the shapes no published recording has (a structured-output answer, a Responses body)."""
    interaction = {
        "request": {"method": "POST", "uri": url, "body": "", "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["application/json"]},
            "body": {"string": json.dumps(body)},
        },
    }
    path.write_text(yaml.safe_dump({"interactions": [interaction], "version": 1}))
    return path


# -- the cut itself -------------------------------------------------------------------------------


def test_cut_json_stops_mid_object_near_the_share() -> None:
    text = '{"order_id": "A-1042", "status": "shipped", "items": [1, 2, 3], "total": 42.5}'
    for keep in (0.1, 0.5, 0.9):
        cut = cut_json(text, keep)
        assert text.startswith(cut) and cut != text
        assert cut[-1] in '{[,:"' and loads_or_none(cut) is None
        assert abs(len(cut) - len(text) * keep) < 12
    assert cut_json("", 0.5) == "{" and cut_json("{}", 0.5) == "{"


def test_cut_text_cuts_fenced_json_inside_the_fence_and_prose_at_the_share() -> None:
    fenced = '```json\n{"a": 1, "b": [1, 2]}\n```'
    cut = cut_text(fenced, 0.5)
    assert cut.startswith("```json\n{") and "```" not in cut[3:]
    assert cut_text("Hello there, world", 0.5) == "Hello the"
    assert cut_text("ab", 0.99) == "a"


def test_partial_object_keeps_the_members_complete_before_the_cut() -> None:
    assert partial_object('{"city": "Mexico City", "country": "Mex') == {"city": "Mexico City"}
    assert partial_object('{"a": 1, "b": {"c": [1, 2') == {"a": 1, "b": {"c": [1, 2]}}
    assert partial_object('{"a"') == {}
    assert partial_object("{") == {}


ANSWERS = [
    pytest.param(SIMPLE.name, 0, CHAT, "length", id="chat-body-text"),
    pytest.param(
        "pydantic-ai__test_openai_tool_output.yaml", 0, CHAT, "length", id="chat-body-tool"
    ),
    pytest.param(TWO_TURN_STREAM.name, 0, CHAT, "length", id="chat-stream-tool"),
    pytest.param(TWO_TURN_STREAM.name, 1, CHAT, "length", id="chat-stream-text"),
    pytest.param(RESPONSES_STREAM.name, 0, RESPONSES, "incomplete", id="responses-stream-tool"),
    pytest.param(RESPONSES_STREAM.name, 1, RESPONSES, "incomplete", id="responses-stream-text"),
    pytest.param(ANTHROPIC_TOOL.name, 1, ANTHROPIC, "max_tokens", id="anthropic-body-tool"),
    pytest.param(
        "pydantic-ai__test_anthropic_model_retrying_after_empty_response.yaml",
        0,
        ANTHROPIC,
        "max_tokens",
        id="anthropic-body-text",
    ),
    pytest.param(ANTHROPIC_STREAM.name, 0, ANTHROPIC, "max_tokens", id="anthropic-stream-text"),
    pytest.param(
        ANTHROPIC_TOOL_STREAM.name, 0, ANTHROPIC, "max_tokens", id="anthropic-stream-tool"
    ),
]


@pytest.mark.parametrize(("name", "index", "fmt", "said"), ANSWERS)
def test_every_format_is_cut_and_says_why_with_valid_framing(
    name: str, index: int, fmt: WireFormat, said: str
) -> None:
    plan = real_plan(name, index)
    new, alterations = TokenLimit(keep=0.4).apply(plan, ctx_for(fmt, seed=3))
    cut, *ending = alterations
    assert cut.action == "truncated" and cut.value != cut.original
    assert said in [a.value for a in ending]
    if plan.is_sse:  # every event still parses, as many as before
        events = parse_events(new.body_bytes())
        assert len(events) == len(plan.events())
        assert all(e.json() is not None or e.is_done_sentinel for e in events if e.data)
    else:
        json.loads(new.body_bytes())
    usage = [a for a in ending if "tokens" in a.path]
    assert usage and all(a.value < a.original for a in usage)


def test_same_seed_same_cut() -> None:
    plan = real_plan(TWO_TURN_STREAM.name, 1)
    runs = [TokenLimit().apply(plan, ctx_for(CHAT, seed=s)) for s in (1, 2)]
    assert runs[0].plan.body_bytes() == runs[1].plan.body_bytes()


@pytest.mark.parametrize(
    ("plan", "fmt"),
    [
        (real_plan("opentelemetry-python-contrib__test_chat_completion_404.yaml"), CHAT),
        (html_plan(), CHAT),
        (real_plan("pydantic-ai__test_invalid_response.yaml"), CHAT),
    ],
    ids=["error-404", "html", "not-an-answer"],
)
def test_nothing_to_cut_changes_nothing(plan: Any, fmt: WireFormat) -> None:
    assert TokenLimit().apply(plan, ctx_for(fmt)) == (plan, [])


def test_registered_and_validated_like_any_fault() -> None:
    assert FAULTS["token_limit"] is TokenLimit
    spec = TypeAdapter(FaultSpec).validate_python({"type": "token_limit", "keep": 0.25})
    assert spec == TokenLimit(keep=0.25) and spec.params()["max_tokens"] is None
    for bad in ({"keep": 1}, {"keep": 0}, {"max_tokens": 0}, {"kepe": 0.5}):
        with pytest.raises(ValidationError):
            TypeAdapter(FaultSpec).validate_python({"type": "token_limit", **bad})
    assert spec.applies_to(ANTHROPIC) and not spec.applies_to(WireFormat.mcp)


# -- what the real SDKs see ---------------------------------------------------------------------


def test_openai_chat_body_finish_reason_length_with_usage_at_the_limit() -> None:
    with FaultkitSession(cassettes=[SIMPLE]) as session:
        session.inject({**LIMIT, "max_tokens": 12})
        completion = openai_client(session).chat.completions.create(model="gpt-4o", messages=USER)
        cut = the_fault(session).alterations[0]
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content == cut.value and cut.original.startswith(cut.value)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 12
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 12


def test_openai_chat_stream_tool_arguments_then_text_cut() -> None:
    with FaultkitSession(cassettes=[TWO_TURN_STREAM]) as session:
        session.inject(LIMIT)
        client = openai_client(session)
        with (
            pytest.raises(openai.LengthFinishReasonError) as info,
            client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream,
        ):
            stream.get_final_completion()  # the helper refuses a "length" answer
        chunks = list(
            client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        )
        recorded_args = the_fault(session, 0).alterations[0].original
    first = info.value.completion
    (call,) = first.choices[0].message.tool_calls or []
    assert first.choices[0].finish_reason == "length"
    assert recorded_args == '{"country":"UK"}' and recorded_args.startswith(call.function.arguments)
    assert loads_or_none(call.function.arguments) is None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and "London" not in text  # "The capital of the UK is London." stops early
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert usage and usage[-1].completion_tokens == 5  # 9 recorded, half kept, rounded up


class Order(BaseModel):
    order_id: str
    status: str
    total: float


def test_openai_structured_output_cut_mid_object(tmp_path: Path) -> None:
    content = json.dumps({"order_id": "A-1042", "status": "shipped", "total": 42.5})
    body = {
        "id": "chatcmpl-so1",
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
        "usage": {"prompt_tokens": 40, "completion_tokens": 20, "total_tokens": 60},
    }
    url = "https://api.openai.com/v1/chat/completions"
    cassette = one_answer_cassette(tmp_path / "structured.yaml", url, body)
    with FaultkitSession(cassettes=[cassette], playback="repeat") as session:
        session.inject(LIMIT)
        client = openai_client(session)
        raw = client.chat.completions.create(model="gpt-4o", messages=USER)
        with pytest.raises(openai.LengthFinishReasonError):
            client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Order)
    assert raw.choices[0].finish_reason == "length"
    cut = raw.choices[0].message.content or ""
    assert content.startswith(cut) and cut.startswith("{") and loads_or_none(cut) is None


def test_openai_responses_stream_ends_incomplete_for_max_output_tokens() -> None:
    with FaultkitSession(cassettes=[RESPONSES_STREAM]) as session:
        session.inject(LIMIT)
        client = openai_client(session)
        events = list(client.responses.create(model="gpt-4.1", input="x", stream=True))
        with (
            pytest.raises(RuntimeError, match=r"response\.completed"),
            client.responses.stream(model="gpt-4.1", input="x") as stream,
        ):
            stream.get_final_response()  # the helper wants response.completed: it raises
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    (item,) = last.response.output
    assert item.type == "function_call" and item.status == "incomplete"
    assert loads_or_none(item.arguments) is None and '{"a":1231,"b":2331}'.startswith(
        item.arguments
    )
    assert last.response.usage is not None and last.response.usage.output_tokens == 12


def test_openai_responses_body_is_incomplete(tmp_path: Path) -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "model": "gpt-4o",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "The answer is 42.", "annotations": []}
                ],
            }
        ],
        "usage": {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11},
        "error": None,
        "incomplete_details": None,
    }
    cassette = one_answer_cassette(
        tmp_path / "resp.yaml", "https://api.openai.com/v1/responses", body
    )
    with FaultkitSession(cassettes=[cassette]) as session:
        session.inject({**LIMIT, "keep": 0.3})
        response = openai_client(session).responses.create(model="gpt-4o", input="x")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "The a"
    assert response.output[0].status == "incomplete"
    assert response.usage is not None and response.usage.output_tokens == 2
    assert response.usage.total_tokens == 7


def test_anthropic_body_tool_use_stops_at_max_tokens_with_a_partial_input() -> None:
    with FaultkitSession(cassettes=[ANTHROPIC_TOOL], match_on=("method", "path")) as session:
        session.inject(LIMIT)
        client = anthropic_client(session)
        client.messages.create(model="claude-sonnet-4-5", max_tokens=28, messages=USER)
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=28, messages=USER)
        recorded = json.loads(the_fault(session).alterations[0].original)
    assert recorded == {"city": "Mexico City", "country": "Mexico"}
    assert message.stop_reason == "max_tokens"
    (block,) = [b for b in message.content if b.type == "tool_use"]
    assert block.input == {"city": "Mexico City"}  # the members complete before the cut
    recorded_tokens = json.loads(real_plan(ANTHROPIC_TOOL.name, 1).body_bytes())["usage"]
    assert message.usage.output_tokens == -(-recorded_tokens["output_tokens"] // 2)


def test_anthropic_stream_text_stops_at_max_tokens() -> None:
    with FaultkitSession(cassettes=[ANTHROPIC_STREAM], match_on=("method", "path")) as session:
        session.inject({**LIMIT, "max_tokens": 64})
        with anthropic_client(session).messages.stream(
            model="claude-sonnet-4-0", max_tokens=64, messages=USER
        ) as stream:
            final = stream.get_final_message()
        cut = the_fault(session).alterations[0]
    assert final.stop_reason == "max_tokens"
    assert final.usage.output_tokens == 64
    (text,) = [b for b in final.content if b.type == "text"]
    assert text.text == cut.value and cut.original.startswith(text.text)
    assert len(text.text) < len(cut.original)


def test_anthropic_stream_tool_input_is_cut_and_parsed_partially_by_the_helper() -> None:
    with FaultkitSession(cassettes=[ANTHROPIC_TOOL_STREAM]) as session:
        session.inject(LIMIT)
        events = []
        with anthropic_client(session).messages.stream(
            model="claude-3-5-sonnet", max_tokens=77, messages=USER
        ) as stream:
            events = list(stream)
            final = stream.get_final_message()
        cut = the_fault(session).alterations[0]
    assert final.stop_reason == "max_tokens"
    deltas = [e for e in events if e.type == "message_delta"]
    assert deltas and deltas[-1].delta.stop_reason == "max_tokens"
    last = [b for b in final.content if b.type == "tool_use"][-1]
    assert last.input != json.loads(cut.original)  # the helper parses the cut JSON leniently
    assert loads_or_none(cut.value) is None


def test_described_in_words() -> None:
    from faultkit.strategies import describe_fault

    assert (
        describe_fault(TokenLimit()) == "answer stops at the token limit, 50% of its last part kept"
    )
    assert describe_fault(TokenLimit(keep=0.2, max_tokens=64)) == (
        "answer stops at the token limit (64 tokens), 20% of its last part kept"
    )


def test_through_the_real_proxy_process(tmp_path: Path) -> None:
    """The same fault asked for per request (``x-faultkit-fault``) of a real ``faultkit proxy``:
    the openai SDK streams the bundled support answer over a loopback socket, cut."""
    from proxy_process import SUPPORT_CASSETTES, ProxyFactory

    recorded = yaml.safe_load((SUPPORT_CASSETTES / "openai_order_status_stream.yaml").read_text())
    body = json.loads(recorded["interactions"][0]["request"]["body"])
    factory = ProxyFactory(tmp_path)
    try:
        proxy = factory("--cassettes", str(SUPPORT_CASSETTES))
        client = openai.OpenAI(
            base_url=proxy.door("openai"),
            api_key="sk-test",
            max_retries=0,
            timeout=10,
            default_headers={"x-faultkit-fault": "type=token_limit;keep=0.5"},
        )
        chunks = list(client.chat.completions.create(**body))
        (entry,) = proxy.ledger()
    finally:
        factory.close()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "length"
    args = "".join(
        t.function.arguments or ""
        for c in chunks
        if c.choices
        for t in c.choices[0].delta.tool_calls or []
    )
    assert args and loads_or_none(args) is None
    (fault,) = entry["faults"]
    assert fault["type"] == "token_limit" and fault["alterations"][0]["value"] == args
