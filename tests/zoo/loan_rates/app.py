"""Mortgage rate desk: "what's your 25-year fixed rate?" answered from the bank's rate service.

OpenAI Chat Completions, not streamed, sync client: the model turns the customer's words into a
``lookup_rate`` call (product and term), the app asks the rate service
(``http://rates.zoo.test``), and writes the reply itself from the service's figures: the model
routes, the bank's systems state the numbers.

What it gets right: SDK retries off and an explicit ``RateDeskError`` on any provider failure;
a short timeout on every call and one deadline checked between steps; the tool call's name and
arguments are checked; the rate service's answer is validated.

PLANTED BUG (swallows a tool error): when the rate service fails, the app quietly uses the
rates printed in last quarter's brochure and answers as if they were today's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o-mini"
RATES_URL = "http://rates.zoo.test/v1/mortgage/{product}/{term}"
DEADLINE_S = 5.0
TIMEOUT = httpx.Timeout(2.0, connect=1.0)
SYSTEM = "Route the customer's mortgage-rate question to lookup_rate. Do not answer yourself."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_rate",
            "description": "Today's mortgage rate for a product and term.",
            "parameters": {
                "type": "object",
                "properties": {
                    "product": {"type": "string", "enum": ["fixed", "variable"]},
                    "term_years": {"type": "integer", "enum": [10, 15, 20, 25, 30]},
                },
                "required": ["product", "term_years"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]
# Last quarter's brochure, kept "in case the rate service is down".
BROCHURE = {
    ("fixed", 25): {"rate_pct": 3.95, "apr_pct": 4.21},
    ("variable", 25): {"rate_pct": 3.60, "apr_pct": 3.98},
}


class RateDeskError(Exception):
    """The rate cannot be quoted right now."""


class Rate(BaseModel):
    product: str
    term_years: int
    rate_pct: float
    apr_pct: float


class RateQuote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: Literal["fixed", "variable"]
    term_years: int
    rate_pct: float = Field(gt=0)
    apr_pct: float = Field(gt=0)
    reply: str


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: Literal["fixed", "variable"]
    term_years: Literal[10, 15, 20, 25, 30]


def _route(llm: openai.OpenAI, question: str) -> _Args:
    try:
        completion = llm.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            tools=TOOLS,
            tool_choice="required",
        )
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
        raise RateDeskError(f"the assistant is unavailable: {type(exc).__name__}") from exc
    if not isinstance(completion, ChatCompletion) or not completion.choices:
        raise RateDeskError("the assistant sent an unreadable answer")
    calls = completion.choices[0].message.tool_calls or []
    if len(calls) != 1 or calls[0].type != "function" or calls[0].function.name != "lookup_rate":
        raise RateDeskError("the assistant did not route the question")
    try:
        return _Args.model_validate_json(calls[0].function.arguments)
    except ValidationError as exc:
        raise RateDeskError("the assistant sent unreadable arguments") from exc


def _rate(http: httpx.Client, args: _Args) -> Rate:
    url = RATES_URL.format(product=args.product, term=args.term_years)
    try:
        response = http.get(url, timeout=TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError:
        # BUG: the failure is swallowed; the brochure's figures stand in for today's rate.
        figures = BROCHURE.get((args.product, args.term_years), {"rate_pct": 4.1, "apr_pct": 4.4})
        return Rate(product=args.product, term_years=args.term_years, **figures)
    try:
        return Rate.model_validate_json(response.content)
    except ValidationError as exc:
        raise RateDeskError("the rate service sent an incomplete rate") from exc


def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx.Client] = httpx.Client,
) -> dict[str, Any]:
    """Quote a mortgage rate as a ``RateQuote`` dict, or raise RateDeskError."""
    started = time.monotonic()
    with http_client_factory(timeout=TIMEOUT) as http:
        llm = openai.OpenAI(http_client=http, max_retries=0)
        args = _route(llm, question)
        if time.monotonic() - started > DEADLINE_S:
            raise RateDeskError("no answer in time")
        rate = _rate(http, args)
    reply = (
        f"Our {rate.term_years}-year {rate.product} rate is {rate.rate_pct:.2f}% "
        f"(APR {rate.apr_pct:.2f}%)."
    )
    return RateQuote(**rate.model_dump(), reply=reply).model_dump()
