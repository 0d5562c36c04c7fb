"""A small world for oracle tests: a support assistant's two upstreams, replayed in-process.

``openai`` answers chat completions with a recorded structured answer about order 1042 (the
model saw the full order when it was recorded); ``orders.example`` is the order-lookup tool.
Each test builds a world from scenario rules, runs a purpose-built SUT function against it with a
real httpx client through faultkit's in-process door, and judges the ledger + result.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel

from faultkit.doors.inprocess import FaultkitTransport
from faultkit.engine import Engine
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.oracle import Contract, Result, Verdict, capture, judge
from faultkit.scenario import Scenario

CHAT_URL = "https://api.openai.com/v1/chat/completions"
ORDER_URL = "https://orders.example/orders/1042"
MCP_URL = "https://tools.example/mcp"

ORDER = {
    "id": "1042",
    "status": "shipped",
    "eta": "2024-05-03",
    "carrier": "UPS",
    "total": 129.99,
    "gift": True,
    "items": [{"sku": "KB-7731", "name": "Mechanical keyboard"}],
}
ANSWER = {
    "order_id": "1042",
    "status": "shipped",
    "eta": "2024-05-03",
    "summary": "Order 1042 shipped with UPS and arrives on 2024-05-03.",
}


class Answer(BaseModel):
    order_id: str
    status: str
    eta: str | None
    summary: str


class OrderLookupError(Exception):
    """The assistant's declared error: it could not answer reliably."""


def chat_completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1714000000,
        "model": f"{model}-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80},
    }


@dataclass(frozen=True)
class Recording:
    response: Response
    source: str


class MemorySource:
    """Recordings by path: the chat answer (echoing the requested model), the order over plain
    HTTP, and the order as an MCP ``tools/call`` result."""

    def match(self, request: Request) -> Recording:
        head = ResponseHead(status=200, headers=(("content-type", "application/json"),))
        rpc = request.json_body
        if isinstance(rpc, dict) and rpc.get("jsonrpc") == "2.0":
            result = {
                "content": [{"type": "text", "text": json.dumps(ORDER)}],
                "structuredContent": ORDER,
                "isError": False,
            }
            message = {"jsonrpc": "2.0", "id": rpc["id"], "result": result}
            return Recording(Response(head=head, body=json.dumps(message).encode()), "memory#mcp")
        if request.path.endswith("/chat/completions"):
            model = request.json_body["model"]
            body = chat_completion(json.dumps(ANSWER), model)
            return Recording(Response(head=head, body=json.dumps(body).encode()), "memory#chat")
        return Recording(Response(head=head, body=json.dumps(ORDER).encode()), "memory#order")


class World:
    """The engine, its ledger and a client whose requests go through faultkit's door."""

    def __init__(self, rules: str = "[]", *, read_timeout_s: float = 2.0) -> None:
        scenario = Scenario.from_yaml(f"name: oracle-test\nseed: 1\nrules: {rules}\n")
        self.engine = Engine(scenario, source=MemorySource())
        self.client = httpx.Client(
            transport=FaultkitTransport(self.engine),
            timeout=httpx.Timeout(5.0, read=read_timeout_s),
        )

    def chat(self, model: str = "gpt-4o-mini", question: str = "Where is order 1042?"):
        body = {"model": model, "messages": [{"role": "user", "content": question}]}
        return self.client.post(CHAT_URL, json=body)

    def order(self, timeout_s: float | None = None, url: str = ORDER_URL) -> httpx.Response:
        if timeout_s is None:
            return self.client.get(url)
        return self.client.get(url, timeout=timeout_s)

    def mcp_order(self) -> dict[str, Any]:
        """Call the MCP ``get_order`` tool; returns the JSON-RPC result."""
        body = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "get_order", "arguments": {"id": "1042"}},
        }
        return self.client.post(MCP_URL, json=body).json()["result"]

    def run(self, sut, contract: Contract | None = None, **expect: Any) -> Verdict:
        """Run ``sut(world)``, then judge it (``expect`` are scenario expectation fields)."""
        result = capture(sut, self)
        return self.judge(result, contract, **expect)

    def run_with(self, sut, *args: Any, contract: Contract | None = None, **expect: Any) -> Verdict:
        """Like :meth:`run`, passing ``args`` (recorded as the case input) after the world."""
        result = capture(sut, self, *args)
        return self.judge(result, contract, **expect)

    def judge(self, result: Result, contract: Contract | None = None, **expect: Any) -> Verdict:
        scenario = Scenario.model_validate({"name": "oracle-test", "expect": expect})
        return judge(self.engine.ledger, result, contract or Contract(), scenario)


def sleep_ms(ms: float) -> None:
    time.sleep(ms / 1000)


def model_answer(response: httpx.Response) -> dict[str, Any]:
    return json.loads(response.json()["choices"][0]["message"]["content"])


def rules(*items: str) -> str:
    """Inline YAML flow list of rules."""
    return "[" + ", ".join(items) + "]"
