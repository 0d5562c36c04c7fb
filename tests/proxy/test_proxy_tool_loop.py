"""tool_loop through the real ``faultkit proxy`` process: the bundled ``tool-loop`` scenario
(model-behaviour set) on a two-turn conversation recorded with the official openai SDK and
matched on the body. The proxy answers the turns no cassette holds by continuing the
conversation the fault changed, as the in-process door does, so the agent's own step budget is
what stops it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
from proxy_process import REPO, ProxyFactory
from zoo.zoo_runner import zoo_importable

zoo_importable()
from recorder import record  # noqa: E402  (tests/zoo helpers: real wire-format answers)
from wire import chat_json, tool_json  # noqa: E402

TOOL_LOOP = REPO / "scenarios" / "model-behaviour" / "tool-loop.yaml"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
        },
    }
]


def agent(
    *,
    turns: int,
    base_url: str = "https://api.openai.com/v1",
    orders: str = "http://orders.loop.test",
    http_client_factory: Any = httpx.Client,
) -> int:
    """Runs what the model asks until it answers; returns the number of model turns taken."""
    with http_client_factory() as http:
        llm = openai.OpenAI(api_key="sk-test", base_url=base_url, http_client=http, max_retries=0)
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Where is order 1042?"}]
        for turn in range(1, turns + 1):
            message = (
                llm.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
                .choices[0]
                .message
            )
            if not message.tool_calls:
                return turn
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                result = http.get(f"{orders}/orders/1042").text
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return turns


def upstream(method: str, url: str, body: Any) -> Any:
    if "/orders/" in url:
        return tool_json({"id": "1042", "status": "shipped"})
    if any(m.get("role") == "tool" for m in body["messages"]):
        return chat_json("chatcmpl-loop2", "gpt-4o-mini", content="Order 1042 has shipped.")
    call = ("call_1", "lookup_order", json.dumps({"order": "1042"}))
    return chat_json("chatcmpl-loop1", "gpt-4o-mini", tool_calls=[call])


def test_the_proxy_continues_a_conversation_the_tool_loop_changed(
    proxy: ProxyFactory, tmp_path: Path
) -> None:
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    record(agent, {"turns": 3}, upstream, cassettes / "loop.yaml")
    (tmp_path / "faultkit.toml").write_text(
        '[upstreams.orders]\nurl = "http://orders.loop.test"\n', encoding="utf-8"
    )
    p = proxy(
        "--cassettes",
        str(cassettes),
        "--scenario",
        str(TOOL_LOOP),
        "--config",
        str(tmp_path / "faultkit.toml"),
        "--timing-scale",
        "0",
    )
    turns = agent(turns=6, base_url=p.door("openai"), orders=p.door("orders"))
    assert turns == 6  # the model never answered: the loop ran to the agent's budget
    chat = [e for e in p.ledger() if e["route"] == "openai"]
    assert [e["logical_call"] for e in chat] == [1, 2, 3, 4, 5, 6]
    assert [bool(e["faults"]) for e in chat] == [False, True, True, True, True, True]
    assert all(e["tool_calls"] == ["lookup_order"] for e in chat)
    assert all("continues the conversation a fault changed in" in e["recording"] for e in chat[2:])
    assert all(e["ending"] == "completed" for e in chat)
