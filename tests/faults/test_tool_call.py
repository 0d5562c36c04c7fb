"""tool_call: break one tool call (arguments, tool name, id) in real provider answers, and check
the result is still well-formed for the real SDKs while carrying exactly the intended fault."""

from __future__ import annotations

import json
import random
from pathlib import Path

import openai
import pytest
import yaml
from _fault_samples import (
    USER,
    anthropic_client,
    body_json,
    ctx_for,
    html_plan,
    json_plan,
    openai_client,
    real_plan,
)
from pydantic import TypeAdapter, ValidationError

from faultkit.faults import FAULTS, FaultSpec
from faultkit.faults.tool_call import ToolCallFault, cut_arguments
from faultkit.formats import anthropic_messages, openai_chat, openai_responses
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import parse_events
from faultkit.plan import Plan
from faultkit.session import FaultkitSession

CHAT = WireFormat.openai_chat
RESPONSES = WireFormat.openai_responses
ANTHROPIC = WireFormat.anthropic_messages
MODULES = {CHAT: openai_chat, RESPONSES: openai_responses, ANTHROPIC: anthropic_messages}

TOOL_ANSWERS = [
    pytest.param("pydantic-ai__test_openai_tool_output.yaml", 1, CHAT, id="chat-body"),
    pytest.param(
        "opentelemetry-python-contrib__test_chat_completion_multiple_tools_streaming_with_content.yaml",
        0,
        CHAT,
        id="chat-stream-2-calls",
    ),
    pytest.param(
        "pydantic-ai__test_run_stream_sync_streams_real_model.yaml", 0, CHAT, id="chat-stream"
    ),
    pytest.param(
        "llm__test_responses_tool_use_streaming.yaml", 0, RESPONSES, id="responses-stream"
    ),
    pytest.param("pydantic-ai__test_anthropic_tool_output.yaml", 1, ANTHROPIC, id="anthropic-body"),
    pytest.param(
        "openllmetry__test_anthropic_tools_streaming_legacy.yaml",
        0,
        ANTHROPIC,
        id="anthropic-stream",
    ),
    pytest.param(
        "llm-anthropic__test_stream_events_tool_calls.yaml",
        0,
        ANTHROPIC,
        id="anthropic-empty-input",
    ),
]
KINDS = ["invalid_arguments", "unknown_tool", "missing_id", "duplicate_id"]


def calls_of(plan: Plan, fmt: WireFormat) -> list:  # type: ignore[type-arg]
    """The tool calls in ``plan``, re-read from its wire bytes."""
    module = MODULES[fmt]
    if plan.is_sse:
        return module.stream_tool_calls(parse_events(plan.body_bytes()))
    return module.tool_calls(body_json(plan))


def loads_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.mark.parametrize(("name", "index", "fmt"), TOOL_ANSWERS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_breaks_exactly_the_chosen_call(
    name: str, index: int, fmt: WireFormat, kind: str
) -> None:
    plan = real_plan(name, index)
    before = calls_of(plan, fmt)
    new, alterations = ToolCallFault(kind=kind).apply(plan, ctx_for(fmt, seed=5))
    after = calls_of(new, fmt)
    target = before[0]
    (alteration,) = alterations

    if plan.is_sse:  # framing: every event still parses, as many events as before (or more)
        assert len(parse_events(new.body_bytes())) >= len(plan.events())
    if kind == "invalid_arguments":
        assert loads_or_none(after[0].arguments) is None
        assert alteration.original == target.arguments
        assert alteration.value == after[0].arguments
        assert after[1:] == before[1:]
    elif kind == "unknown_tool":
        assert after[0].name == "nonexistent_tool"
        assert alteration.original == target.name
        assert after[0].arguments == target.arguments
    elif kind == "missing_id":
        assert after[0].id == ""
        assert alteration.original == target.id
    else:
        ids = [c.id for c in after]
        assert len(ids) == len(set(ids)) + 1  # exactly one id now appears twice
        if len(before) == 1:
            assert [(c.id, c.name, c.arguments) for c in after] == [
                (target.id, target.name, target.arguments)
            ] * 2
            assert alteration.action == "injected"
        else:
            assert after[0].id == after[1].id == before[1].id
            assert alteration.original == target.id
    assert alteration.path.startswith(target.where)


def test_truncation_cuts_at_a_structural_point() -> None:
    text = '{"location": "San Francisco, CA", "unit": "celsius", "days": [1, 2]}'
    cuts = {cut_arguments(text, random.Random(seed)) for seed in range(40)}
    assert len(cuts) > 5  # the seed really chooses among many points
    for cut in cuts:
        assert text.startswith(cut) and cut != text
        assert cut[-1] in '{[,:"'
        assert loads_or_none(cut) is None
    assert cut_arguments("", random.Random(0)) == "{"
    assert cut_arguments("{}", random.Random(0)) == "{"


def test_same_seed_same_fault_and_other_seeds_differ() -> None:
    plan = real_plan("openllmetry__test_anthropic_tools_streaming_legacy.yaml")
    fault = ToolCallFault(kind="invalid_arguments")
    runs = [fault.apply(plan, ctx_for(ANTHROPIC, seed=s)) for s in (1, 1, 2, 3, 4, 5)]
    assert runs[0].plan.body_bytes() == runs[1].plan.body_bytes()
    assert runs[0].alterations == runs[1].alterations
    assert len({r.alterations[0].value for r in runs}) > 1


def test_other_forms_of_invalid_arguments() -> None:
    plan = real_plan("pydantic-ai__test_openai_tool_output.yaml", 1)
    original = calls_of(plan, CHAT)[0].arguments
    empty, _ = ToolCallFault(kind="invalid_arguments", form="empty").apply(plan, ctx_for(CHAT))
    assert calls_of(empty, CHAT)[0].arguments == ""
    double, _ = ToolCallFault(kind="invalid_arguments", form="double_encoded").apply(
        plan, ctx_for(CHAT)
    )
    assert json.loads(calls_of(double, CHAT)[0].arguments) == original  # a string, not an object


def test_absent_id_removes_the_field() -> None:
    plan = real_plan("pydantic-ai__test_openai_tool_output.yaml", 1)
    new, (alteration,) = ToolCallFault(kind="missing_id", id_form="absent").apply(
        plan, ctx_for(CHAT)
    )
    assert "id" not in body_json(new)["choices"][0]["message"]["tool_calls"][0]
    assert alteration.action == "removed"


def test_call_selects_which_tool_call_breaks() -> None:
    plan = real_plan("openllmetry__test_anthropic_tools_streaming_legacy.yaml")
    new, _ = ToolCallFault(kind="unknown_tool", call=1, tool_name="rm_rf").apply(
        plan, ctx_for(ANTHROPIC)
    )
    assert [c.name for c in calls_of(new, ANTHROPIC)] == ["get_weather", "rm_rf"]


@pytest.mark.parametrize(
    ("plan", "fmt"),
    [
        (real_plan("pydantic-ai__test_request_simple_usage.yaml"), CHAT),
        (real_plan("pydantic-ai__test_run_stream_sync_streams_real_model.yaml", 1), CHAT),
        (real_plan("llm__test_responses_tool_use_streaming.yaml", 1), RESPONSES),
        (json_plan({"type": "message", "content": [{"type": "text", "text": "hi"}]}), ANTHROPIC),
        (html_plan(), CHAT),
    ],
    ids=["chat-text", "chat-text-stream", "responses-text-stream", "anthropic-text", "html"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_no_tool_call_means_no_change(plan: Plan, fmt: WireFormat, kind: str) -> None:
    new, alterations = ToolCallFault(kind=kind).apply(plan, ctx_for(fmt))
    assert new == plan
    assert alterations == []


def test_a_call_index_beyond_the_calls_changes_nothing() -> None:
    plan = real_plan("pydantic-ai__test_openai_tool_output.yaml", 1)
    assert ToolCallFault(kind="unknown_tool", call=1).apply(plan, ctx_for(CHAT)) == (plan, [])


def test_registered_and_validated_like_any_fault() -> None:
    assert FAULTS["tool_call"] is ToolCallFault
    spec = TypeAdapter(FaultSpec).validate_python({"type": "tool_call", "kind": "duplicate_id"})
    assert spec == ToolCallFault(kind="duplicate_id")
    assert spec.params()["call"] == 0 and spec.params()["tool_name"] == "nonexistent_tool"
    with pytest.raises(ValidationError):
        TypeAdapter(FaultSpec).validate_python({"type": "tool_call", "kind": "bogus"})
    with pytest.raises(ValidationError):
        ToolCallFault(kind="unknown_tool", call=-1)
    assert spec.applies_to(CHAT) and not spec.applies_to(WireFormat.json)


# -- what the real SDKs see ---------------------------------------------------------------------


def test_openai_chat_stream_helper_assembles_a_duplicated_id() -> None:
    plan = real_plan("pydantic-ai__test_run_stream_sync_streams_real_model.yaml", 0)
    new, _ = ToolCallFault(kind="duplicate_id").apply(plan, ctx_for(CHAT))
    with openai_client(new).chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["call_ZR5UUuTt3pf61kjwAJIYdVMj"] * 2
    assert [c.function.arguments for c in calls] == ['{"country":"UK"}'] * 2


def test_openai_chat_stream_with_cut_arguments_reaches_the_app() -> None:
    name = (
        "opentelemetry-python-contrib__"
        "test_chat_completion_multiple_tools_streaming_with_content.yaml"
    )
    new, (alteration,) = ToolCallFault(kind="invalid_arguments", call=1).apply(
        real_plan(name), ctx_for(CHAT, seed=2)
    )
    chunks = list(openai_client(new).chat.completions.create(model="m", messages=USER, stream=True))
    pieces = [
        t.function.arguments or ""
        for c in chunks
        for choice in c.choices
        for t in choice.delta.tool_calls or []
        if t.index == 1
    ]
    assert "".join(pieces) == alteration.value
    with pytest.raises(json.JSONDecodeError):
        json.loads("".join(pieces))


def test_openai_chat_body_unknown_tool() -> None:
    plan = real_plan("pydantic-ai__test_openai_tool_output.yaml", 1)
    new, _ = ToolCallFault(kind="unknown_tool", tool_name="delete_all").apply(plan, ctx_for(CHAT))
    completion = openai_client(new).chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.tool_calls[0].function.name == "delete_all"


def test_openai_responses_stream_duplicate_parses_raw() -> None:
    plan = real_plan("llm__test_responses_tool_use_streaming.yaml", 0)
    new, _ = ToolCallFault(kind="duplicate_id").apply(plan, ctx_for(RESPONSES))
    events = list(openai_client(new).responses.create(model="m", input="x", stream=True))
    assert events[-1].type == "response.completed"
    output = events[-1].response.output
    assert [o.call_id for o in output] == ["call_sVidsfFJ6zlzRpelrPkTPlpd"] * 2
    # Note: openai 3.57's responses.stream() helper rejects this stream with
    # RuntimeError("... conflicting output identities"): a duplicate call id is caught there.


def test_openai_responses_stream_cut_arguments() -> None:
    plan = real_plan("llm__test_responses_tool_use_streaming.yaml", 0)
    new, (alteration,) = ToolCallFault(kind="invalid_arguments").apply(plan, ctx_for(RESPONSES, 9))
    with openai_client(new).responses.stream(model="m", input="x") as stream:
        final = stream.get_final_response()
    assert final.output[0].arguments == alteration.value
    assert loads_or_none(final.output[0].arguments) is None


def test_anthropic_body_invalid_input_arrives_as_a_string() -> None:
    plan = real_plan("pydantic-ai__test_anthropic_tool_output.yaml", 1)
    new, (alteration,) = ToolCallFault(kind="invalid_arguments").apply(plan, ctx_for(ANTHROPIC))
    message = anthropic_client(new).messages.create(model="m", max_tokens=16, messages=USER)
    assert message.content[0].input == alteration.value
    assert isinstance(message.content[0].input, str)


def test_anthropic_stream_duplicate_and_missing_id_through_the_sdk() -> None:
    plan = real_plan("openllmetry__test_anthropic_tools_streaming_legacy.yaml")
    client_plan, _ = ToolCallFault(kind="missing_id", call=1).apply(plan, ctx_for(ANTHROPIC))
    with anthropic_client(client_plan).messages.stream(
        model="m", max_tokens=16, messages=USER
    ) as stream:
        final = stream.get_final_message()
    assert [getattr(b, "id", None) for b in final.content] == [
        None,
        "toolu_014x5X91kx3fvdhpLvwXZWE2",
        "",
    ]

    single = real_plan("llm-anthropic__test_stream_events_tool_calls.yaml")
    doubled, _ = ToolCallFault(kind="duplicate_id").apply(single, ctx_for(ANTHROPIC))
    with anthropic_client(doubled).messages.stream(
        model="m", max_tokens=16, messages=USER
    ) as stream:
        final = stream.get_final_message()
    assert [(b.id, b.name, b.input) for b in final.content] == [
        ("toolu_01CzN6riCPqw4pVSuTd9Dwn7", "pelican_name_generator", {})
    ] * 2


def test_anthropic_stream_helper_is_lenient_with_a_cut_but_rejects_not_json() -> None:
    plan = real_plan("openllmetry__test_anthropic_tools_streaming_legacy.yaml")
    cut, (alteration,) = ToolCallFault(kind="invalid_arguments").apply(plan, ctx_for(ANTHROPIC, 3))
    assert loads_or_none(alteration.value) is None
    with anthropic_client(cut).messages.stream(model="m", max_tokens=9, messages=USER) as stream:
        final = stream.get_final_message()
    # The cut input silently arrives incomplete: the app, not the SDK, must notice.
    assert final.content[1].input != json.loads(alteration.original)

    garbled, (alteration,) = ToolCallFault(kind="invalid_arguments", form="not_json").apply(
        plan, ctx_for(ANTHROPIC)
    )
    assert alteration.value == "location=San Francisco, CA, unit=celsius"
    with (
        pytest.raises(ValueError, match="Unable to parse tool parameter JSON"),
        anthropic_client(garbled).messages.stream(model="m", max_tokens=9, messages=USER) as stream,
    ):
        stream.get_final_message()


# -- a streamed OpenAI tool call whose ``arguments`` is null ------------------------------------
# Some OpenAI-compatible servers carry ``"arguments": null`` in a tool-call delta: in the first
# fragment only, or in every fragment of a call that takes no arguments. The ledger must never
# claim an edit that the bytes sent do not carry.

CHAT_URL = "https://api.openai.com/v1/chat/completions"


def null_args_cassette(path: Path, fragments: list[str | None]) -> Path:
    """A vcrpy cassette at ``path`` holding one streamed chat completion: a ``get_time`` tool
    call whose ``arguments`` deltas are ``fragments`` (None sent as ``null``)."""

    def chunk(delta: dict, finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        payload = {
            "id": "chatcmpl-null1",
            "object": "chat.completion.chunk",
            "created": 1733000000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [choice],
        }
        return f"data: {json.dumps(payload)}\n\n"

    first = {"index": 0, "id": "call_null1", "type": "function", "function": {"name": "get_time"}}
    deltas = [first] + [{"index": 0, "function": {}} for _ in fragments[1:]]
    for delta, piece in zip(deltas, fragments, strict=True):
        delta["function"]["arguments"] = piece
    events = [chunk({"role": "assistant", "content": None})]
    events += [chunk({"tool_calls": [delta]}) for delta in deltas]
    events += [chunk({}, "tool_calls"), "data: [DONE]\n\n"]
    interaction = {
        "request": {"method": "POST", "uri": CHAT_URL, "body": "", "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["text/event-stream; charset=utf-8"]},
            "body": {"string": "".join(events)},
        },
    }
    path.write_text(yaml.safe_dump({"interactions": [interaction], "version": 1}))
    return path


def streamed_arguments(session: FaultkitSession) -> str | None:
    """The tool call's arguments as the openai SDK's stream helper assembles them."""
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.openai.com/v1", http_client=session.client()
    )
    with client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    return call.function.arguments


@pytest.mark.parametrize(
    ("fragments", "recorded"),
    [
        pytest.param([None, '{"tz":', ' "UTC"}'], '{"tz": "UTC"}', id="null-then-text"),
        pytest.param([None], None, id="all-null"),
        pytest.param([None, None], None, id="all-null-twice"),
    ],
)
def test_invalid_arguments_on_null_arguments_claims_only_what_was_sent(
    tmp_path: Path, fragments: list[str | None], recorded: str | None
) -> None:
    cassette = null_args_cassette(tmp_path / "null_args.yaml", fragments)
    with FaultkitSession(cassettes=[cassette]) as plain:
        assert streamed_arguments(plain) == recorded
    with FaultkitSession(cassettes=[cassette]) as session:
        session.inject({"type": "tool_call", "kind": "invalid_arguments"})
        received = streamed_arguments(session)
        (entry,) = session.ledger
    if entry.faults:  # claimed: the client got exactly the broken text it names
        ((alteration,),) = [fault.alterations for fault in entry.faults]
        assert received == alteration.value != recorded
        assert loads_or_none(received or "") is None
    else:  # nothing to break: said so, and the client got the recording
        assert received == recorded
        assert [(s.type, s.reason) for s in entry.skipped] == [("tool_call", "nothing to alter")]
    assert bool(entry.faults) == (recorded is not None)
