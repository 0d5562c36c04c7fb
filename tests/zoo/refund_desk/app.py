"""Online shop refund desk: "please refund order 7781, the kettle arrived broken".

OpenAI Chat Completions, not streamed, sync client: the model turns the customer's words into
an ``issue_refund`` call (order and amount), the app checks the call and asks the payments
service (``http://refunds.zoo.test``) to pay the refund, then writes the reply itself.

What it gets right: SDK retries off and an explicit ``RefundDeskError`` on any provider
failure; a short timeout on every call; the tool call's name and arguments are checked; the
payments service's answer is validated; retries are bounded (three tries, 100 ms apart).

PLANTED BUG (repeats a payment): when the payments service fails (an error status, a timeout)
the app sends the refund again with no idempotency key, so a refund the service did pay before
it failed to answer is paid a second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o-mini"
REFUNDS_URL = "http://refunds.zoo.test/v1/refunds"
TIMEOUT = httpx.Timeout(1.0, connect=1.0)
TRIES = 3
SYSTEM = "Turn the customer's refund request into one issue_refund call. Do not answer yourself."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "issue_refund",
            "description": "Refund an order to the customer's original payment method.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string"},
                    "amount_eur": {"type": "number"},
                },
                "required": ["order_id", "amount_eur"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]


class RefundDeskError(Exception):
    """The refund could not be made right now."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(pattern=r"^\d{4,8}$")
    amount_eur: float = Field(gt=0, le=500)


class Refund(BaseModel):
    refund_id: str
    order_id: str
    amount_eur: float
    status: str


class RefundReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: str
    order_id: str
    amount_eur: float
    reply: str


def _route(llm: openai.OpenAI, request: str) -> _Args:
    try:
        completion = llm.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}],
            tools=TOOLS,
            tool_choice="required",
        )
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
        raise RefundDeskError(f"the assistant is unavailable: {type(exc).__name__}") from exc
    if not isinstance(completion, ChatCompletion) or not completion.choices:
        raise RefundDeskError("the assistant sent an unreadable answer")
    choice = completion.choices[0]
    calls = choice.message.tool_calls or []
    if choice.finish_reason != "tool_calls" or len(calls) != 1:
        raise RefundDeskError("the assistant did not route the request")
    call = calls[0]
    if call.type != "function" or call.function.name != "issue_refund":
        raise RefundDeskError("the assistant asked for something this desk does not do")
    try:
        return _Args.model_validate_json(call.function.arguments)
    except ValidationError as exc:
        raise RefundDeskError("the assistant sent unreadable arguments") from exc


def _refund(http: httpx.Client, args: _Args) -> Refund:
    body = {"order_id": args.order_id, "amount_eur": args.amount_eur}
    for attempt in range(TRIES):
        if attempt:
            time.sleep(0.1)
        try:
            # BUG: no Idempotency-Key: a retry after a failure the service may have paid
            # through is a second refund.
            response = http.post(REFUNDS_URL, json=body, timeout=TIMEOUT)
        except httpx.HTTPError:
            continue
        if response.status_code >= 500:
            continue
        if response.status_code >= 400:
            raise RefundDeskError(
                f"the payments service refused the refund ({response.status_code})"
            )
        try:
            return Refund.model_validate_json(response.content)
        except ValidationError as exc:
            raise RefundDeskError("the payments service sent an unreadable answer") from exc
    raise RefundDeskError("the payments service is unavailable; the refund was not confirmed")


def answer(
    request: str,
    *,
    http_client_factory: Callable[..., httpx.Client] = httpx.Client,
) -> dict[str, Any]:
    """Make the refund and return a ``RefundReply`` dict, or raise RefundDeskError."""
    with http_client_factory(timeout=TIMEOUT) as http:
        llm = openai.OpenAI(http_client=http, max_retries=0)
        args = _route(llm, request)
        refund = _refund(http, args)
    reply = f"Refund {refund.refund_id}: {refund.amount_eur:.2f} EUR for order {refund.order_id}."
    return RefundReply(
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        amount_eur=refund.amount_eur,
        reply=reply,
    ).model_dump()
