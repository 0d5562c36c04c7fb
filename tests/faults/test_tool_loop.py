"""tool_loop: the model asks for the same tool call again on every turn. Small agents on the
official openai and anthropic SDKs, streamed and not, replay a two-turn conversation (a tool
call, then the answer) recorded with the SDKs' own request bodies and matched on the body;
the fault turns every later answer into the same call again. Replay answers the turns no
cassette holds (the conversation the fault changed, continued), so the loop runs until the
agent's own step budget stops it: within ``max_steps`` controlled, past it ``runaway_loop``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from zoo.zoo_runner import zoo_importable

from faultkit.exchange import Request
from faultkit.faults.tool_loop import ToolLoop, last_call
from faultkit.formats.detect import WireFormat
from faultkit.oracle import Contract, capture, judge
from faultkit.session import FaultkitSession

zoo_importable()
from recorder import record  # noqa: E402  (tests/zoo helpers: real wire-format answers)
from wire import chat_json, chat_sse, messages_json, messages_sse  # noqa: E402

ARGS = {"order": "1042"}
TOOL = "lookup_order"
ORDER_URL = "http://orders.tool-loop.test/orders/1042"
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": TOOL,
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
        },
    }
]
ANTHROPIC_TOOLS = [
    {"name": TOOL, "input_schema": {"type": "object", "properties": {"order": {"type": "string"}}}}
]


class AgentStopped(Exception):
    """The agents' declared error: no answer within their turn budget."""


# -- the agents -----------------------------------------------------------------------------------
def openai_agent(stream: bool) -> Callable[..., str]:
    def answer(*, turns: int, http_client_factory: Callable[..., Any] = httpx.Client) -> str:
        with http_client_factory() as http:
            llm = openai.OpenAI(
                api_key="sk-test",
                base_url="https://api.openai.com/v1",
                http_client=http,
                max_retries=0,
            )
            messages: list[dict[str, Any]] = [{"role": "user", "content": "Where is order 1042?"}]
            for _ in range(turns):
                kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": messages}
                if stream:
                    with llm.chat.completions.stream(**kwargs, tools=CHAT_TOOLS) as s:
                        message = s.get_final_completion().choices[0].message
                else:
                    completion = llm.chat.completions.create(**kwargs, tools=CHAT_TOOLS)
                    message = completion.choices[0].message
                if not message.tool_calls:
                    return message.content or ""
                messages.append(message.model_dump(exclude_none=True, exclude={"parsed"}))
                for call in message.tool_calls:
                    result = http.get(ORDER_URL).text
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        raise AgentStopped(f"no answer within {turns} turns")

    return answer


def anthropic_agent(stream: bool) -> Callable[..., str]:
    def answer(*, turns: int, http_client_factory: Callable[..., Any] = httpx2.Client) -> str:
        with http_client_factory() as http:
            llm = anthropic.Anthropic(
                api_key="sk-ant-test",
                base_url="https://api.anthropic.com",
                http_client=http,
                max_retries=0,
            )
            messages: list[dict[str, Any]] = [{"role": "user", "content": "Where is order 1042?"}]
            for _ in range(turns):
                kwargs: dict[str, Any] = {
                    "model": "claude-haiku-4-5",
                    "max_tokens": 512,
                    "messages": messages,
                    "tools": ANTHROPIC_TOOLS,
                }
                if stream:
                    with llm.messages.stream(**kwargs) as s:
                        message = s.get_final_message()
                else:
                    message = llm.messages.create(**kwargs)
                uses = [b for b in message.content if b.type == "tool_use"]
                if not uses:
                    return "".join(b.text for b in message.content if b.type == "text")
                messages.append(
                    {"role": "assistant", "content": [b.model_dump() for b in message.content]}
                )
                results = [
                    {
                        "type": "tool_result",
                        "tool_use_id": u.id,
                        "content": http.get(ORDER_URL).text,
                    }
                    for u in uses
                ]
                messages.append({"role": "user", "content": results})
        raise AgentStopped(f"no answer within {turns} turns")

    return answer


# -- recordings: the SDK's own requests, answered in the providers' wire format --------------------
def upstream(provider: str, stream: bool) -> Callable[[str, str, Any], Any]:
    def answer(method: str, url: str, body: Any) -> Any:
        if url.startswith("http://orders."):
            from wire import tool_json

            return tool_json({"id": "1042", "status": "shipped"})
        asked = any(
            m.get("role") == "tool"
            or (
                isinstance(m.get("content"), list)
                and any(b.get("type") == "tool_result" for b in m["content"])
            )
            for m in body["messages"]
        )
        if provider == "openai":
            make = chat_sse if stream else chat_json
            if asked:
                return make("chatcmpl-loop2", "gpt-4o-mini", content="Order 1042 has shipped.")
            return make(
                "chatcmpl-loop1", "gpt-4o-mini", tool_calls=[("call_1", TOOL, json.dumps(ARGS))]
            )
        make = messages_sse if stream else messages_json
        if asked:
            return make("msg_01Loop2", "claude-haiku-4-5", text="Order 1042 has shipped.")
        return make("msg_01Loop1", "claude-haiku-4-5", tool_uses=[("toolu_01", TOOL, ARGS)])

    return answer


AGENTS = {"openai": openai_agent, "anthropic": anthropic_agent}
CASES = [
    pytest.param(p, s, id=f"{p}-{'stream' if s else 'json'}")
    for p in ("openai", "anthropic")
    for s in (False, True)
]


def recorded(tmp_path: Path, provider: str, stream: bool) -> Path:
    path = tmp_path / f"{provider}-{stream}.yaml"
    record(AGENTS[provider](stream), {"turns": 3}, upstream(provider, stream), path)
    return path


def run(path: Path, provider: str, stream: bool, turns: int, contract: Contract):
    with FaultkitSession(
        cassettes=[path], match_on=("method", "uri", "body"), playback="repeat"
    ) as fk:
        fk.inject({"type": "tool_loop"}, match={"kind": "provider"})
        factory = fk.httpx2_client if provider == "anthropic" else fk.client
        result = capture(
            AGENTS[provider](stream), turns=turns, http_client_factory=lambda: factory()
        )
        return judge(fk.ledger, result, contract), list(fk.ledger)


@pytest.mark.parametrize(("provider", "stream"), CASES)
def test_the_model_keeps_asking_and_an_agent_without_a_budget_runs_away(
    tmp_path: Path, provider: str, stream: bool
) -> None:
    path = recorded(tmp_path, provider, stream)
    contract = Contract(max_steps=4, error_types=[AgentStopped])
    verdict, ledger = run(path, provider, stream, 8, contract)
    assert verdict.kind == "runaway_loop", verdict.explain()
    models = [e for e in ledger if e.route == provider]
    assert len(models) == 8 and [e.logical_call for e in models] == list(range(1, 9))
    assert all(e.tool_calls == [TOOL] for e in models)
    assert not models[0].faults and models[0].skipped[0].reason == "nothing to alter"
    assert all(e.faults[0].type == "tool_loop" for e in models[1:])
    assert models[1].faults[0].alterations[0].original["text"] == "Order 1042 has shipped."
    # Turns 3 on: no cassette holds them; replay continues the conversation the fault changed.
    assert all("continues the conversation a fault changed in" in e.recording for e in models[2:])
    assert all(e.ending == "completed" for e in ledger)


@pytest.mark.parametrize(("provider", "stream"), CASES)
def test_an_agent_that_stops_within_its_budget_is_controlled(
    tmp_path: Path, provider: str, stream: bool
) -> None:
    path = recorded(tmp_path, provider, stream)
    contract = Contract(max_steps=4, error_types=[AgentStopped])
    verdict, ledger = run(path, provider, stream, 4, contract)
    assert verdict.kind == "controlled_error", verdict.explain()
    assert len([e for e in ledger if e.route == provider]) == 4


def test_last_call_reads_each_formats_conversation() -> None:
    def req(body: dict[str, Any]) -> Request:
        return Request(method="POST", url="https://x/v1", body=json.dumps(body).encode())

    chat = {
        "messages": [
            {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": "{}"}}]}
        ]
    }
    assert last_call(WireFormat.openai_chat, req(chat)) == ("a", "{}")
    claude = {
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "name": "b", "input": {"x": 1}}]}
        ]
    }
    assert last_call(WireFormat.anthropic_messages, req(claude)) == ("b", '{"x":1}')
    responses = {"input": [{"type": "function_call", "name": "c", "arguments": '{"y":2}'}]}
    assert last_call(WireFormat.openai_responses, req(responses)) == ("c", '{"y":2}')
    assert (
        last_call(WireFormat.openai_chat, req({"messages": [{"role": "user", "content": "hi"}]}))
        is None
    )
    assert ToolLoop().describe() == "model repeats its tool call every turn"


# -- OpenAI Responses: a real recorded stream (llm's multiply tool), and a recorded body ---------
REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
RESPONSES_STREAMS = REAL / "llm__test_responses_tool_use_streaming.yaml"  # 0: tool, 1: text
MULTIPLY = [
    {
        "type": "function",
        "name": "multiply",
        "description": "Multiply two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        },
    }
]


def responses_agent(stream: bool, tool: Callable[[str, str], str]) -> Callable[..., str]:
    """An agent on the Responses API: ``tool(name, arguments)`` runs a call."""

    def answer(*, turns: int, http_client_factory: Callable[..., Any] = httpx.Client) -> str:
        with http_client_factory() as http:
            llm = openai.OpenAI(
                api_key="sk-test",
                base_url="https://api.openai.com/v1",
                http_client=http,
                max_retries=0,
            )
            items: list[Any] = [{"role": "user", "content": "What is 1231 * 2331?"}]
            for _ in range(turns):
                kwargs: dict[str, Any] = {"model": "gpt-5.5", "input": items, "tools": MULTIPLY}
                if stream:
                    with llm.responses.stream(**kwargs) as s:
                        response = s.get_final_response()
                else:
                    response = llm.responses.create(**kwargs)
                calls = [o for o in response.output if o.type == "function_call"]
                if not calls:
                    return response.output_text
                for c in calls:
                    items.append(
                        {
                            "type": "function_call",
                            "call_id": c.call_id,
                            "name": c.name,
                            "arguments": c.arguments,
                        }
                    )
                    output = tool(c.name, c.arguments)
                    items.append(
                        {"type": "function_call_output", "call_id": c.call_id, "output": output}
                    )
        raise AgentStopped(f"no answer within {turns} turns")

    return answer


def multiply(name: str, arguments: str) -> str:
    args = json.loads(arguments)
    return str(args["a"] * args["b"])


def test_a_streamed_responses_answer_becomes_the_same_function_call() -> None:
    """The real recorded stream: the SDK assembles the repeated call from the rewritten events
    (output item, argument deltas, terminal snapshot) on every turn after the first."""
    with FaultkitSession(
        cassettes=[RESPONSES_STREAMS], match_on=("method", "path"), playback="repeat"
    ) as fk:
        fk.inject({"type": "tool_loop"}, match={"kind": "provider"})
        agent = responses_agent(True, multiply)
        result = capture(agent, turns=5, http_client_factory=fk.client)
        verdict = judge(fk.ledger, result, Contract(max_steps=3, error_types=[AgentStopped]))
        ledger = list(fk.ledger)
    assert verdict.kind == "runaway_loop", verdict.explain()
    assert [e.tool_calls for e in ledger] == [["multiply"]] * 5
    assert [bool(e.faults) for e in ledger] == [False, True, True, True, True]
    change = ledger[1].faults[0].alterations[0]
    assert change.value["name"] == "multiply"
    assert json.loads(change.value["arguments"]) == {"a": 1231, "b": 2331}
    assert change.original["tool_calls"] == []
    assert all(e.usage is not None for e in ledger)


def responses_upstream(method: str, url: str, body: Any) -> Any:
    from wire import responses_json

    asked = any(
        i.get("type") == "function_call_output" for i in body["input"] if isinstance(i, dict)
    )
    if asked:
        return responses_json("resp_loop2", "gpt-5.5", text="1231 * 2331 = 2869461.")
    call = ("call_1", "multiply", json.dumps({"a": 1231, "b": 2331}))
    return responses_json("resp_loop1", "gpt-5.5", function_calls=[call])


def test_a_responses_body_loops_past_the_recorded_turns(tmp_path: Path) -> None:
    path = tmp_path / "responses.yaml"
    record(responses_agent(False, multiply), {"turns": 3}, responses_upstream, path)
    with FaultkitSession(
        cassettes=[path], match_on=("method", "uri", "body"), playback="repeat"
    ) as fk:
        fk.inject({"type": "tool_loop"}, match={"kind": "provider"})
        result = capture(responses_agent(False, multiply), turns=3, http_client_factory=fk.client)
        verdict = judge(fk.ledger, result, Contract(max_steps=3, error_types=[AgentStopped]))
        ledger = list(fk.ledger)
    assert verdict.kind == "controlled_error", verdict.explain()
    assert [e.logical_call for e in ledger] == [1, 2, 3]
    assert "continues the conversation a fault changed in #2" in (ledger[2].recording or "")


# -- Gemini: real pydantic-ai recordings (a function call, then the answer), body and stream ------
GEMINI_BODY = REAL / "pydantic-ai__test_google_model_structured_output.yaml"
GEMINI_STREAM = REAL / "pydantic-ai__test_google_streaming_tool_call_thought_signature.yaml"


@pytest.mark.parametrize(
    ("cassette", "model", "stream"),
    [
        pytest.param(GEMINI_BODY, "gemini-2.0-flash", False, id="json"),
        pytest.param(GEMINI_STREAM, "gemini-3-pro-preview", True, id="stream"),
    ],
)
def test_gemini_keeps_asking_for_its_function_call(
    cassette: Path, model: str, stream: bool
) -> None:
    from google import genai
    from google.genai import types

    def agent(*, turns: int, client: httpx.Client) -> str:
        options = types.HttpOptions(httpx_client=client, api_version="v1beta")
        llm = genai.Client(api_key="test", http_options=options)
        contents: list[Any] = [types.Content(role="user", parts=[types.Part(text="Call the tool")])]
        for _ in range(turns):
            if stream:
                chunks = list(llm.models.generate_content_stream(model=model, contents=contents))
                calls = [c for chunk in chunks for c in chunk.function_calls or []]
            else:
                calls = llm.models.generate_content(model=model, contents=contents).function_calls
            if not calls:
                return "answered"
            parts = [types.Part(function_call=c) for c in calls]
            contents.append(types.Content(role="model", parts=parts))
            results = [
                types.Part.from_function_response(name=c.name, response={"result": "ok"})
                for c in calls
            ]
            contents.append(types.Content(role="user", parts=results))
        raise AgentStopped(f"no answer within {turns} turns")

    with FaultkitSession(
        cassettes=[cassette], match_on=("method", "path"), playback="repeat"
    ) as fk:
        fk.inject({"type": "tool_loop"}, match={"kind": "provider"})
        result = capture(agent, turns=4, client=fk.client())
        verdict = judge(fk.ledger, result, Contract(max_steps=3, error_types=[AgentStopped]))
        ledger = list(fk.ledger)
    assert verdict.kind == "runaway_loop", verdict.explain()
    first = ledger[0].tool_calls
    assert first and all(e.tool_calls == first for e in ledger)
    assert [bool(e.faults) for e in ledger] == [False, True, True, True]


def test_a_reset_ledger_forgets_the_conversation_a_fault_changed(tmp_path: Path) -> None:
    """One session, two runs: after the ledger is reset, a request that continues the earlier
    run's looped conversation is not answered from it: without the fault it is unmatched."""
    path = recorded(tmp_path, "openai", False)
    with FaultkitSession(
        cassettes=[path], match_on=("method", "uri", "body"), playback="repeat"
    ) as fk:
        fk.inject({"type": "tool_loop"}, match={"kind": "provider"})
        http = fk.client()
        llm = openai.OpenAI(
            api_key="sk-test", base_url="https://api.openai.com/v1", http_client=http, max_retries=0
        )
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Where is order 1042?"}]
        for _ in range(3):
            message = (
                llm.chat.completions.create(
                    model="gpt-4o-mini", messages=messages, tools=CHAT_TOOLS
                )
                .choices[0]
                .message
            )
            messages.append(message.model_dump(exclude_none=True, exclude={"parsed"}))
            call_id = message.tool_calls[0].id
            result = http.get(ORDER_URL).text
            messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
        # The third turn (#5) had no recording: replay continued the looped conversation.
        assert "continues the conversation" in (list(fk.ledger)[-2].recording or "")
        fk.engine.ledger.reset()
        fk.engine.clear_rules()
        for _ in range(6):  # ids past the earlier run's: only the reset tells the runs apart
            http.get(ORDER_URL)
        with pytest.raises(Exception):  # noqa: B017  (the SDK wraps faultkit's UnmatchedRequest)
            llm.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=CHAT_TOOLS)
        entry = list(fk.ledger)[-1]
    assert entry.id > 5 and entry.ending == "unmatched"  # not continued from the old run
