"""The conversation both apps hold with the model, kept byte-compatible with the recordings in
``cassettes/support/``: the prompt, the ``get_order`` tool, the ``support_answer`` schema, and
how a streamed turn is put back together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROMPT_VERSION = "support-v1"
SYSTEM_PROMPT = (
    "You are the support assistant of an online shop. Use the get_order tool to look up orders; "
    "never guess order data. Answer with the support_answer JSON schema."
)
PRIMARY_MODEL = "gpt-4o-mini"
FALLBACK_MODEL = "gpt-4.1-mini"
ORDERS_URL = "http://orders.internal"

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look up an order by its number: status, items, total, carrier and "
            "estimated delivery.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "The order number, e.g. 1234"}
                },
                "required": ["order_id"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]

RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "support_answer",
        "schema": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string"},
                "status": {
                    "type": "string",
                    "enum": [
                        "pending",
                        "processing",
                        "shipped",
                        "delivered",
                        "cancelled",
                        "unknown",
                    ],
                },
                "eta": {
                    "type": ["string", "null"],
                    "description": "ISO date, or null when unknown",
                },
                "reply": {"type": "string"},
            },
            "required": ["order_id", "status", "eta", "reply"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def first_messages(question: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]


def request(model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Keyword arguments of ``chat.completions.create`` for one streamed turn."""
    return {
        "model": model,
        "messages": messages,
        "tools": TOOLS,
        "tool_choice": "auto",
        "response_format": RESPONSE_FORMAT,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def tool_turn(call_id: str, name: str, arguments: str, tool_output: str) -> list[dict[str, Any]]:
    """The assistant's tool call and the tool's answer, appended before the next turn."""
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": tool_output},
    ]


@dataclass
class ToolCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Turn:
    """One streamed model turn, reassembled from its chunks."""

    model: str
    content: str = ""
    tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    finish_reason: str | None = None
    chunks: int = 0

    def add(self, chunk: Any) -> None:
        """Fold one ``ChatCompletionChunk`` in (deltas concatenate; ids and names arrive once)."""
        self.chunks += 1
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is not None:
                self.content += delta.content or ""
                for part in delta.tool_calls or []:
                    call = self.tool_calls.setdefault(part.index, ToolCall())
                    call.id = call.id or (part.id or "")
                    if part.function is not None:
                        call.name = call.name or (part.function.name or "")
                        call.arguments += part.function.arguments or ""
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    @property
    def calls(self) -> list[ToolCall]:
        return [self.tool_calls[i] for i in sorted(self.tool_calls)]


def order_json(data: Any) -> str:
    """The tool output as the model sees it (compact JSON, as recorded)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
