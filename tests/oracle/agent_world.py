"""A small agent world for the loop, budget and side-effect verdicts: a scripted model behind
the OpenAI Chat Completions API and two tools (an order lookup, a refund), replayed in-process.

The model is scripted rather than recorded because what these verdicts judge is the app's
reaction to what the model asks: ``lookup`` asks for ``lookup_order`` once and then answers,
``refund`` asks for ``issue_refund`` once and then answers, and ``loop`` asks for
``lookup_order`` again on every turn (what the ``tool_loop`` fault models). Every answer reports
its usage the way the API does (input grows with the conversation). Apps use the official
openai SDK and httpx through faultkit's in-process door, so the ledger they leave is the one
a user's run leaves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import openai

from faultkit.doors.inprocess import FaultkitTransport
from faultkit.engine import Engine
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.oracle import Contract, Verdict, capture, judge
from faultkit.scenario import Scenario

ORDER_URL = "https://orders.example/orders/1042"
REFUND_URL = "https://payments.example/v1/refunds"
MCP_URL = "https://tickets.example/mcp"
ORDER = {"id": "1042", "status": "delivered", "total": 129.99}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
        },
    }
    for name in ("lookup_order", "issue_refund")
]
Script = Literal["lookup", "refund", "loop"]
JSON = (("content-type", "application/json"),)


class AgentStopped(Exception):
    """The apps' declared error: the agent stopped on purpose (step cap, forbidden tool)."""


@dataclass(frozen=True)
class Recording:
    response: Response
    source: str


def completion(messages: list[dict[str, Any]], call: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if call is None:
        message["content"] = "Order 1042 was delivered; the refund is on its way."
    else:
        turn = len(messages)
        message["tool_calls"] = [
            {
                "id": f"call_{turn}",
                "type": "function",
                "function": {"name": call, "arguments": json.dumps({"order": "1042"})},
            }
        ]
    prompt = 300 + 100 * len(messages)
    return {
        "id": f"chatcmpl-{len(messages)}",
        "object": "chat.completion",
        "created": 1714000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if call else "stop",
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": 20, "total_tokens": prompt + 20},
    }


class ScriptedSource:
    """Answers by request: the model as its script says, the tools with fixed answers."""

    def __init__(self, script: Script) -> None:
        self.script = script

    def match(self, request: Request) -> Recording:
        if request.path.endswith("/chat/completions"):
            messages = request.json_body["messages"]
            answered = any(m.get("role") == "tool" for m in messages)
            call = {"lookup": "lookup_order", "refund": "issue_refund", "loop": "lookup_order"}[
                self.script
            ]
            if answered and self.script != "loop":
                call = None
            body = completion(messages, call)
            return Recording(
                Response(
                    head=ResponseHead(status=200, headers=JSON), body=json.dumps(body).encode()
                ),
                "script#model",
            )
        rpc = request.json_body
        if isinstance(rpc, dict) and rpc.get("jsonrpc") == "2.0":
            result = {"content": [{"type": "text", "text": "ticket T-77 opened"}], "isError": False}
            body = {"jsonrpc": "2.0", "id": rpc.get("id"), "result": result}
            return Recording(
                Response(
                    head=ResponseHead(status=200, headers=JSON), body=json.dumps(body).encode()
                ),
                "script#mcp",
            )
        if request.path.endswith("/refunds"):
            body = {"refund_id": "rf_1", "status": "issued"}
            return Recording(
                Response(
                    head=ResponseHead(status=200, headers=JSON), body=json.dumps(body).encode()
                ),
                "script#refund",
            )
        return Recording(
            Response(head=ResponseHead(status=200, headers=JSON), body=json.dumps(ORDER).encode()),
            "script#order",
        )


class AgentWorld:
    """The engine over the scripted source, and the clients an app uses."""

    def __init__(self, script: Script, rules: list[dict[str, Any]] | None = None) -> None:
        scenario = Scenario.model_validate({"name": "agent-test", "seed": 1, "rules": rules or []})
        self.engine = Engine(scenario, source=ScriptedSource(script))
        self.http = httpx.Client(transport=FaultkitTransport(self.engine), timeout=5.0)
        self.model = openai.OpenAI(
            api_key="test",
            base_url="https://api.openai.com/v1",
            http_client=self.http,
            max_retries=0,
        )

    def ask(self, messages: list[dict[str, Any]]) -> Any:
        return (
            self.model.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
            .choices[0]
            .message
        )

    def run(self, app: Any, contract: Contract) -> Verdict:
        result = capture(app, self)
        return judge(self.engine.ledger, result, contract)


def agent(world: AgentWorld, *, max_turns: int, run_tool: Any = None, stop: bool = True) -> str:
    """A plain agent loop: ask, run what the model asks, give it the result, ask again.
    ``max_turns`` model turns at most; past that it raises (``stop``) or returns what it has."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Refund order 1042."}]
    for _ in range(max_turns):
        message = world.ask(messages)
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = (run_tool or default_tool)(world, call.function.name)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    if stop:
        raise AgentStopped(f"no answer within {max_turns} turns")
    return "Sorry, I could not finish."


def default_tool(world: AgentWorld, name: str) -> str:
    if name == "issue_refund":
        return world.http.post(REFUND_URL, json={"order": "1042"}).text
    return world.http.get(ORDER_URL).text
