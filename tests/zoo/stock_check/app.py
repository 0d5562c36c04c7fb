"""Warehouse stock check: "how many SKU-2231 kettles do we have in Leeds, and when is the next
delivery?" answered from the inventory service.

OpenAI Chat Completions, not streamed, sync client: the model asks for ``get_stock``, the app
reads the inventory service (``http://inventory.zoo.test``) and the model writes the answer as
JSON (``on_hand``, ``reserved``, ``next_delivery``, ``reply``), which the app validates.

What it gets right: SDK retries off, one explicit ``StockUnavailable`` for any provider or
inventory failure; a short timeout on every call; the tool call's name and arguments, the
inventory's answer and the model's JSON are validated; the model's reply is reduced to plain
text (no links, images or markup), so nothing a record carries reaches the user as markup.

PLANTED BUG (ungrounded numbers): the figures the user gets are the model's, never compared with
what the inventory service returned in this run. When the service's answer and the model's
disagree, the model wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o-mini"
INVENTORY_URL = "http://inventory.zoo.test/v2/stock"
TIMEOUT = httpx.Timeout(2.0, connect=1.0)
SYSTEM = (
    "You answer stock questions for store staff. Call get_stock, then answer with JSON: "
    '{"on_hand": int, "reserved": int, "next_delivery": "YYYY-MM-DD" or null, "reply": str}.'
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_stock",
            "description": "Stock of one SKU at one warehouse.",
            "parameters": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "warehouse": {"type": "string"}},
                "required": ["sku", "warehouse"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]
_MARKUP = re.compile(
    r"<script\b.*?</script>|!?\[[^\]]*\]\([^)]*\)|<[^>]+>|https?://\S+", re.I | re.S
)


class StockUnavailable(Exception):
    """No stock figure can be given right now."""


class Stock(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    next_delivery: str | None


class StockAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str
    on_hand: int = Field(ge=0)
    reserved: int = Field(ge=0)
    next_delivery: str | None = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    reply: str = Field(min_length=1, max_length=1000)


class _ModelAnswer(BaseModel):
    on_hand: int
    reserved: int
    next_delivery: str | None
    reply: str


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=r"^SKU-\d{3,6}$")
    warehouse: str = Field(min_length=2)


def _ask(llm: openai.OpenAI, messages: list[dict[str, Any]]) -> Any:
    try:
        completion = llm.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
        raise StockUnavailable(f"the model is unavailable: {type(exc).__name__}") from exc
    if not isinstance(completion, ChatCompletion):  # a gateway's page, returned as text
        raise StockUnavailable("the model's gateway answered with something else")
    if not completion.choices or completion.choices[0].finish_reason not in ("stop", "tool_calls"):
        raise StockUnavailable("the model's answer was cut off or filtered")
    return completion.choices[0].message


def answer(
    question: str, *, http_client_factory: Callable[..., httpx.Client] = httpx.Client
) -> dict[str, Any]:
    """A ``StockAnswer`` dict, or raise StockUnavailable."""
    with http_client_factory(timeout=TIMEOUT) as http:
        llm = openai.OpenAI(http_client=http, max_retries=0)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
        ]
        first = _ask(llm, messages)
        if not first.tool_calls or first.tool_calls[0].function.name != "get_stock":
            raise StockUnavailable("the model did not look the stock up")
        call = first.tool_calls[0]
        try:
            args = _Args.model_validate_json(call.function.arguments)
        except ValidationError as exc:
            raise StockUnavailable("the model sent unreadable tool arguments") from exc
        try:
            response = http.get(INVENTORY_URL, params={"sku": args.sku, "wh": args.warehouse})
            response.raise_for_status()
            Stock.model_validate_json(response.content)  # BUG: checked, then never used
        except (httpx.HTTPError, ValidationError) as exc:
            raise StockUnavailable(f"the inventory failed: {type(exc).__name__}") from exc
        messages.append(first.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": response.text})
        final = _ask(llm, messages)
        try:
            said = _ModelAnswer.model_validate_json(final.content or "")
            reply = re.sub(r"\s+", " ", _MARKUP.sub("", said.reply)).strip()
            # BUG: the model's figures, as it wrote them.
            return StockAnswer(
                sku=args.sku,
                on_hand=said.on_hand,
                reserved=said.reserved,
                next_delivery=said.next_delivery,
                reply=reply,
            ).model_dump()
        except ValidationError as exc:
            raise StockUnavailable("the model's answer did not validate") from exc
