"""schema_drift: rename, drop, retype, add or nest one field of the structured output (inside the
answer text, in bodies and streams), of the provider envelope, of tool arguments, or of a tool's
JSON, on real recordings; the framing stays valid and the real SDKs still parse the answer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from _fault_samples import (
    USER,
    anthropic_client,
    body_json,
    ctx_for,
    html_plan,
    json_plan,
    openai_client,
    real,
    real_plan,
    sse_plan,
)
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from faultkit.cassettes import load_cassette
from faultkit.exchange import Request
from faultkit.faults import FAULTS, FaultSpec
from faultkit.faults.base import FaultContext
from faultkit.faults.schema_drift import SchemaDrift, retyped
from faultkit.formats import anthropic_messages, jsonpath, openai_chat, openai_responses
from faultkit.formats.common import replace_events, write_json_body
from faultkit.formats.detect import WireFormat, detect_format
from faultkit.formats.sse import parse_events
from faultkit.plan import Plan

CHAT = WireFormat.openai_chat
RESPONSES = WireFormat.openai_responses
ANTHROPIC = WireFormat.anthropic_messages

OUTPUT = {"order": {"id": 7, "total": 19.5, "paid": True, "items": [{"sku": "a1"}]}}
OUTPUT_TEXT = json.dumps(OUTPUT)


def chat_body_with_output() -> Plan:
    """A real chat completion whose answer is structured output."""
    plan = real_plan("pydantic-ai__test_request_simple_usage.yaml")
    doc = body_json(plan)
    return write_json_body(plan, openai_chat.set_output_text(doc, 0, OUTPUT_TEXT))


def chat_stream_with_output() -> Plan:
    plan = real_plan("pydantic-ai__test_run_stream_sync_streams_real_model.yaml", 1)
    return replace_events(plan, openai_chat.set_stream_output_text(plan.events(), 0, OUTPUT_TEXT))


def responses_stream_with_output() -> Plan:
    plan = real_plan("llm__test_responses_tool_use_streaming.yaml", 1)
    events = openai_responses.set_stream_output_text(plan.events(), (0, 0), OUTPUT_TEXT)
    return replace_events(plan, events)


def anthropic_stream_with_output() -> Plan:
    plan = real_plan("openllmetry__test_anthropic_tools_streaming_legacy.yaml")
    events = anthropic_messages.set_stream_output_text(plan.events(), 0, OUTPUT_TEXT)
    return replace_events(plan, events)


def chat_output(plan: Plan) -> object:
    completion = openai_client(plan).chat.completions.create(model="m", messages=USER)
    return json.loads(completion.choices[0].message.content)


EXPECTED = {
    ("rename", "order.total"): {"id": 7, "total_v2": 19.5, "paid": True, "items": [{"sku": "a1"}]},
    ("drop", "order.total"): {"id": 7, "paid": True, "items": [{"sku": "a1"}]},
    ("retype", "order.total"): {"id": 7, "total": "19.5", "paid": True, "items": [{"sku": "a1"}]},
    ("add", "order.currency"): {**OUTPUT["order"], "currency": "drift"},
    ("nest", "order.total"): {
        "id": 7,
        "total": {"value": 19.5},
        "paid": True,
        "items": [{"sku": "a1"}],
    },
    ("retype", "order.paid"): {"id": 7, "total": 19.5, "paid": "true", "items": [{"sku": "a1"}]},
    ("retype", "order.items"): {
        "id": 7,
        "total": 19.5,
        "paid": True,
        "items": {"0": {"sku": "a1"}},
    },
}


@pytest.mark.parametrize(("op", "path"), list(EXPECTED))
def test_each_op_on_chat_structured_output_reaches_the_sdk(op: str, path: str) -> None:
    new, (alteration,) = SchemaDrift(op=op, path=path).apply(chat_body_with_output(), ctx_for(CHAT))
    assert chat_output(new) == {"order": EXPECTED[(op, path)]}
    assert alteration.path == f"choices[0].message.content::{path}"
    if op != "add":
        assert alteration.original == ("total" if op == "rename" else OUTPUT["order"][path[6:]])


def test_explicit_values_and_names() -> None:
    plan = chat_body_with_output()
    renamed, _ = SchemaDrift(op="rename", path="order.id", new_name="orderId").apply(
        plan, ctx_for(CHAT)
    )
    assert list(chat_output(renamed)["order"]) == ["orderId", "total", "paid", "items"]
    nulled, (alt,) = SchemaDrift(op="retype", path="order.total", value=None).apply(
        plan, ctx_for(CHAT)
    )
    assert chat_output(nulled)["order"]["total"] is None and alt.value is None
    added, _ = SchemaDrift(op="add", path="extra", value=[1]).apply(plan, ctx_for(CHAT))
    assert chat_output(added)["extra"] == [1]


def test_random_path_is_a_present_field_and_deterministic() -> None:
    plan = chat_body_with_output()
    fault = SchemaDrift(op="drop")
    first = fault.apply(plan, ctx_for(CHAT, seed=11))
    assert first == fault.apply(plan, ctx_for(CHAT, seed=11))
    dropped = {fault.apply(plan, ctx_for(CHAT, seed=s)).alterations[0].path for s in range(30)}
    present = {
        "order",
        "order.id",
        "order.total",
        "order.paid",
        "order.items",
        "order.items[0].sku",
    }
    assert dropped == {f"choices[0].message.content::{p}" for p in present}


def test_chat_stream_output_is_reassembled_drifted_and_respread() -> None:
    plan = chat_stream_with_output()
    new, (alteration,) = SchemaDrift(op="rename", path="order.total").apply(plan, ctx_for(CHAT))
    assert len(parse_events(new.body_bytes())) == len(plan.events())
    with openai_client(new).chat.completions.stream(model="m", messages=USER) as stream:
        final = stream.get_final_completion()
    assert json.loads(final.choices[0].message.content)["order"]["total_v2"] == 19.5
    assert alteration.path == "stream.choices[0].delta.content::order.total"


def test_responses_stream_output_through_the_stream_helper() -> None:
    new, _ = SchemaDrift(op="retype", path="order.id").apply(
        responses_stream_with_output(), ctx_for(RESPONSES)
    )
    with openai_client(new).responses.stream(model="m", input="x") as stream:
        final = stream.get_final_response()
    assert json.loads(final.output_text)["order"]["id"] == "7"


def test_anthropic_stream_output_through_the_stream_helper() -> None:
    new, _ = SchemaDrift(op="nest", path="order.paid").apply(
        anthropic_stream_with_output(), ctx_for(ANTHROPIC)
    )
    with anthropic_client(new).messages.stream(model="m", max_tokens=9, messages=USER) as stream:
        final = stream.get_final_message()
    assert json.loads(final.content[0].text)["order"]["paid"] == {"value": True}
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]


@pytest.mark.parametrize(
    ("plan", "fmt"),
    [
        (real_plan("pydantic-ai__test_request_simple_usage.yaml"), CHAT),
        (real_plan("pydantic-ai__test_run_stream_sync_streams_real_model.yaml", 1), CHAT),
        (real_plan("llm__test_responses_tool_use_streaming.yaml", 1), RESPONSES),
        (
            real_plan("pydantic-ai__test_anthropic_model_retrying_after_empty_response.yaml"),
            ANTHROPIC,
        ),
        (real_plan("openllmetry__test_anthropic_tools_streaming_legacy.yaml"), ANTHROPIC),
        (html_plan(), WireFormat.json),
    ],
    ids=["chat", "chat-stream", "responses-stream", "anthropic", "anthropic-stream", "html"],
)
@pytest.mark.parametrize("op", ["rename", "drop", "retype", "add", "nest"])
def test_prose_answers_are_left_alone(plan: Plan, fmt: WireFormat, op: str) -> None:
    assert SchemaDrift(op=op).apply(plan, ctx_for(fmt)) == (plan, [])


def test_a_missing_explicit_path_changes_nothing() -> None:
    plan = chat_body_with_output()
    assert SchemaDrift(op="drop", path="order.nope").apply(plan, ctx_for(CHAT)) == (plan, [])


def test_body_target_drifts_the_provider_envelope() -> None:
    plan = real_plan("pydantic-ai__test_openai_tool_output.yaml", 1)
    new, (alteration,) = SchemaDrift(
        op="rename", target="body", path="choices[0].finish_reason", new_name="stop_reason"
    ).apply(plan, ctx_for(CHAT))
    completion = openai_client(new).chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].finish_reason is None  # lenient SDK: the drift goes unnoticed
    assert completion.choices[0].model_extra == {"stop_reason": "tool_calls"}
    assert alteration.path == "choices[0].finish_reason"


def test_body_target_on_a_stream_applies_to_every_event_with_the_field() -> None:
    plan = real_plan(
        "opentelemetry-python-contrib__test_chat_completion_multiple_tools_streaming_with_content.yaml"
    )
    new, alterations = SchemaDrift(op="retype", target="body", path="created").apply(
        plan, ctx_for(CHAT)
    )
    (alteration,) = alterations  # one entry for the field, not one per event
    assert alteration.path == "stream[*].created"
    assert (alteration.original, alteration.value) == (1730680125, "1730680125")
    payloads = [e.json() for e in parse_events(new.body_bytes())]
    assert [p["created"] for p in payloads if isinstance(p, dict)] == ["1730680125"] * 18
    assert payloads[-1] is None  # [DONE] kept
    chunks = list(openai_client(new).chat.completions.create(model="m", messages=USER, stream=True))
    assert len(chunks) == 18


def test_body_target_random_choice_on_anthropic() -> None:
    plan = real_plan("pydantic-ai__test_anthropic_tool_output.yaml", 1)
    fault = SchemaDrift(op="drop", target="body")
    new, (alteration,) = fault.apply(plan, ctx_for(ANTHROPIC, seed=4))
    assert (new, [alteration]) == fault.apply(plan, ctx_for(ANTHROPIC, seed=4))
    assert alteration.action == "removed"
    assert json.loads(new.body_bytes()) != json.loads(plan.body_bytes())


def test_tool_arguments_target() -> None:
    chat = real_plan("pydantic-ai__test_openai_tool_output.yaml", 1)
    new, (alteration,) = SchemaDrift(op="rename", target="tool_arguments", path="city").apply(
        chat, ctx_for(CHAT)
    )
    args = json.loads(
        body_json(new)["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    )
    assert args == {"city_v2": "Mexico City", "country": "Mexico"}
    assert alteration.path == "choices[0].message.tool_calls[0].arguments::city"

    claude = real_plan("pydantic-ai__test_anthropic_tool_output.yaml", 1)
    new, _ = SchemaDrift(op="retype", target="tool_arguments", path="country", value=52).apply(
        claude, ctx_for(ANTHROPIC)
    )
    assert body_json(new)["content"][0]["input"] == {"city": "Mexico City", "country": 52}

    stream = real_plan("llm__test_responses_tool_use_streaming.yaml", 0)
    new, _ = SchemaDrift(op="retype", target="tool_arguments", path="a").apply(
        stream, ctx_for(RESPONSES)
    )
    (call,) = openai_responses.stream_tool_calls(parse_events(new.body_bytes()))
    assert json.loads(call.arguments) == {"a": "1231", "b": 2331}


def test_generic_json_tool_with_a_wildcard_path() -> None:
    plan = json_plan({"orders": [{"id": 1, "total": 5}, {"id": 2, "total": 7}]})
    new, alterations = SchemaDrift(op="retype", path="orders[*].total").apply(
        plan, ctx_for(WireFormat.json)
    )
    assert body_json(new) == {"orders": [{"id": 1, "total": "5"}, {"id": 2, "total": "7"}]}
    assert [a.path for a in alterations] == ["orders[0].total", "orders[1].total"]


def test_mcp_structured_content_and_its_text_mirror_drift_together() -> None:
    data = {"temperature": 22.5, "unit": "C"}
    message = {
        "jsonrpc": "2.0",
        "id": 3,
        "result": {
            "content": [{"type": "text", "text": json.dumps(data)}],
            "structuredContent": data,
            "isError": False,
        },
    }
    for plan in (json_plan(message), sse_plan(f"data: {json.dumps(message)}\n\n".encode())):
        new, (alteration,) = SchemaDrift(op="retype", path="temperature").apply(
            plan, ctx_for(WireFormat.mcp)
        )
        events = parse_events(new.body_bytes())
        result = (events[0].json() if plan.is_sse else body_json(new))["result"]
        assert result["structuredContent"] == {"temperature": "22.5", "unit": "C"}
        assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
        assert alteration.path == "result.structuredContent.temperature"


# -- target: structured: the answer wherever the app reads it -----------------------------------
SUPPORT = Path(__file__).resolve().parents[2] / "cassettes" / "support"


def with_body_fields(request: Request, **fields: object) -> Request:
    """``request`` with top-level body fields set (a real request made to force a tool, as
    instructor's tools mode and langchain's ``with_structured_output`` do)."""
    body = json.dumps({**json.loads(request.body), **fields}).encode()
    return Request(method=request.method, url=request.url, headers=request.headers, body=body)


def structured(name: str, index: int = 0, **request_fields: object) -> tuple[Plan, FaultContext]:
    request, response = real(name, index)
    if request_fields:
        request = with_body_fields(request, **request_fields)
    fmt = detect_format(request, response.content_type)
    return Plan.from_response(response, timing_scale=0), FaultContext(
        request, fmt, random.Random(0)
    )


def test_structured_drifts_pydantic_ai_final_result_on_openai_chat() -> None:
    # The recorded request: tools [get_user_country, final_result], tool_choice "required".
    plan, ctx = structured("pydantic-ai__test_openai_tool_output.yaml", 1)
    fault = SchemaDrift(op="rename", target="structured", path="city")
    new, (alteration,) = fault.apply(plan, ctx)
    completion = openai_client(new).chat.completions.create(model="m", messages=USER)
    (call,) = completion.choices[0].message.tool_calls
    assert call.function.name == "final_result"
    assert json.loads(call.function.arguments) == {"city_v2": "Mexico City", "country": "Mexico"}
    assert alteration.path == "choices[0].message.tool_calls[0].arguments::city"
    # The message-content target finds nothing here: the false green `structured` closes.
    assert SchemaDrift(op="rename", target="output", path="city").apply(plan, ctx) == (plan, [])


def test_structured_drifts_pydantic_ai_final_result_tool_use_input_on_anthropic() -> None:
    # The recorded request: tool_choice {"type": "any"} over get_user_country and final_result.
    plan, ctx = structured("pydantic-ai__test_anthropic_tool_output.yaml", 1)
    new, (alteration,) = SchemaDrift(op="drop", target="structured", path="country").apply(
        plan, ctx
    )
    message = anthropic_client(new).messages.create(model="m", max_tokens=10, messages=USER)
    (block,) = message.content
    assert (block.name, block.input) == ("final_result", {"city": "Mexico City"})
    assert alteration.action == "removed" and alteration.original == "Mexico"


def test_structured_drifts_the_forced_tool_in_an_openai_stream_of_argument_deltas() -> None:
    forced = {"type": "function", "function": {"name": "get_current_weather"}}
    plan, ctx = structured(
        "opentelemetry-python-contrib__test_chat_completion_multiple_tools_streaming_with_content"
        ".yaml",
        tool_choice=forced,
    )
    new, (alteration,) = SchemaDrift(op="nest", target="structured", path="location").apply(
        plan, ctx
    )
    chunks = openai_client(new).chat.completions.create(model="m", messages=USER, stream=True)
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                arguments[call.index] = arguments.get(call.index, "") + (
                    call.function.arguments or ""
                )
    assert json.loads(arguments[0]) == {"location": {"value": "Seattle, WA"}}
    assert json.loads(arguments[1]) == {"location": "San Francisco, CA"}  # only the first
    assert alteration.action == "nested"


def test_structured_picks_the_carrier_by_name_in_an_anthropic_stream() -> None:
    plan, ctx = structured(
        "openllmetry__test_anthropic_tools_streaming_legacy.yaml",
        tool_choice={"type": "tool", "name": "get_time"},
    )
    new, _ = SchemaDrift(op="retype", target="structured", path="timezone", value=7).apply(
        plan, ctx
    )
    calls = anthropic_messages.stream_tool_calls(parse_events(new.body_bytes()))
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"location": "San Francisco, CA", "unit": "celsius"}),
        ("get_time", {"timezone": 7}),
    ]


def test_structured_on_responses_needs_a_carrier_not_just_a_tool() -> None:
    # As recorded: one tool (multiply), no tool_choice: the model calls it to compute, and the
    # answer comes later as text. That call is not the structured answer, so nothing drifts.
    name = "llm__test_responses_tool_use_streaming.yaml"
    plan, ctx = structured(name)
    fault = SchemaDrift(op="retype", target="structured", path="a")
    assert fault.apply(plan, ctx) == (plan, [])
    plan, ctx = structured(name, tool_choice={"type": "function", "name": "multiply"})
    new, _ = fault.apply(plan, ctx)
    (call,) = openai_responses.stream_tool_calls(parse_events(new.body_bytes()))
    assert json.loads(call.arguments) == {"a": "1231", "b": 2331}


def test_structured_is_the_json_content_when_no_tool_carries_the_answer() -> None:
    """The bundled support assistant: a lookup tool (get_order, tool_choice auto) and a
    ``response_format: json_schema`` answer streamed as message content."""
    cassette = load_cassette(SUPPORT / "openai_order_status_stream.yaml")
    fault = SchemaDrift(op="rename", target="structured", path="status", new_name="order_status")
    lookup, answer = cassette.interactions[0], cassette.interactions[2]
    for interaction, drifted in ((lookup, False), (answer, True)):
        request = interaction.request
        assert json.loads(request.body)["response_format"]["type"] == "json_schema"
        plan = Plan.from_response(interaction.response, timing_scale=0)
        ctx = FaultContext(request, CHAT, random.Random(0))
        new, alterations = fault.apply(plan, ctx)
        assert bool(alterations) is drifted
        assert openai_chat.stream_tool_calls(new.events()) == openai_chat.stream_tool_calls(
            plan.events()
        )
    (slot,) = openai_chat.stream_output_texts(new.events())
    assert json.loads(slot.text)["order_status"] == "shipped"
    assert alterations[0].path == "stream.choices[0].delta.content::status"


def test_structured_on_a_tool_answer_is_its_json() -> None:
    plan = json_plan({"temperature": 22.5})
    new, _ = SchemaDrift(op="drop", target="structured", path="temperature").apply(
        plan, ctx_for(WireFormat.json)
    )
    assert body_json(new) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, "5"),
        (2.5, "2.5"),
        ("42", 42),
        ("4.5", 4.5),
        ("abc", 0),
        (True, "true"),
        (False, "false"),
        (None, 0),
        ([1, 2], {"0": 1, "1": 2}),
        ({"a": 1}, '{"a":1}'),
    ],
)
def test_default_retype(value: object, expected: object) -> None:
    assert retyped(value) == expected
    assert type(retyped(value)) is type(expected)


def test_registered_and_validated() -> None:
    assert FAULTS["schema_drift"] is SchemaDrift
    spec = TypeAdapter(FaultSpec).validate_python(
        {
            "type": "schema_drift",
            "op": "rename",
            "path": "choices[0].finish_reason",
            "target": "body",
        }
    )
    assert isinstance(spec, SchemaDrift)
    assert spec.params()["target"] == "body"
    assert "value" not in spec.params()  # so the params replay as the same drift
    explicit_null = SchemaDrift(op="retype", value=None)
    assert SchemaDrift.model_validate(explicit_null.params()).params() == explicit_null.params()
    assert explicit_null.params()["value"] is None
    with pytest.raises(ValidationError, match=r"a\.\.b"):
        SchemaDrift(op="drop", path="a..b")
    with pytest.raises(ValidationError):
        SchemaDrift(op="flip")
    assert all(
        spec.applies_to(f) for f in (CHAT, RESPONSES, ANTHROPIC, WireFormat.json, WireFormat.mcp)
    )
    assert not spec.applies_to(WireFormat.other)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    doc=st.dictionaries(st.text(max_size=4), json_values, min_size=1, max_size=4),
    op=st.sampled_from(["rename", "drop", "retype", "add", "nest"]),
    seed=st.integers(0, 2**16),
)
def test_random_drift_on_any_json_changes_one_present_field(doc: dict, op: str, seed: int) -> None:
    new, changes = SchemaDrift(op=op).drift(doc, random.Random(seed))
    json.dumps(new)  # still serializable JSON
    if op == "rename" and not changes:
        return  # the "<name>_v2" name was already taken: nothing is silently overwritten
    (change,) = changes
    if op == "add":
        assert not jsonpath.exists(doc, change.parts)
        assert jsonpath.get(new, change.parts) == "drift"
    else:
        assert jsonpath.exists(doc, change.parts)
        expected = change.parts[-1] if op == "rename" else jsonpath.get(doc, change.parts)
        assert change.original == expected
    assert new != doc or (op == "retype" and change.original == change.value)
