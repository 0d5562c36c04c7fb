"""Card spending coach: "how much did I spend on groceries in November?" from the bank's ledger.

OpenAI Responses API, not streamed: the model calls ``monthly_spend`` (a ``function_call``
item), the app asks the ledger service (``http://ledger.zoo.test``) and sends the result back
as ``function_call_output``; the model words the answer. The amounts in the answer are the
ledger's.

What it gets right: SDK retries off and its own bounded loop (three attempts, exponential
backoff that honours ``retry-after``, never past the deadline); one overall deadline; a short
timeout on the ledger; the function call's name and arguments are validated; the response must
be ``completed``; the ledger's answer is validated before use.

PLANTED BUG (retries a non-retryable error): every 429 is treated as a rate limit, including
``insufficient_quota``, which no wait will heal; an exhausted account is asked again and again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4.1-mini"
LEDGER_URL = "http://ledger.zoo.test/v1/accounts/{account}/spend"
DEADLINE_S = 6.0
ATTEMPTS = 3
INSTRUCTIONS = (
    "You are a personal-finance coach for Zoo Bank customers. Use monthly_spend for any "
    "figure; never estimate. Answer in two sentences at most."
)
TOOLS = [
    {
        "type": "function",
        "name": "monthly_spend",
        "description": "Card spending of an account in one month and category.",
        "parameters": {
            "type": "object",
            "properties": {
                "account": {"type": "string"},
                "month": {"type": "string", "description": "YYYY-MM"},
                "category": {"type": "string"},
            },
            "required": ["account", "month", "category"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


class CoachError(Exception):
    """The spending question cannot be answered right now."""


class Spend(BaseModel):
    account: str
    month: str
    category: str
    total_eur: float
    transactions: int


class SpendAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str
    category: str
    total_eur: float
    transactions: int
    reply: str = Field(min_length=1)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str = Field(pattern=r"^ACC-\d+$")
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    category: str = Field(min_length=1)


def _retry_after_s(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def _respond(llm: openai.AsyncOpenAI, deadline: float, **kwargs: Any) -> Any:
    """One model call with bounded, backed-off retries that fit the deadline."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await llm.responses.create(
                model=MODEL, instructions=INSTRUCTIONS, tools=TOOLS, **kwargs
            )
        except openai.APIStatusError as exc:
            # BUG: insufficient_quota is a 429 too, and is retried like a rate limit.
            if exc.status_code != 429 and exc.status_code < 500:
                raise CoachError(f"the coach is unavailable ({exc.status_code})") from exc
            failure: Exception = exc
            wait = _retry_after_s(exc) or 0.25 * 2**attempt
        except (openai.APIConnectionError, ValueError) as exc:
            failure, wait = exc, 0.25 * 2**attempt
        else:
            if not isinstance(response, openai.types.responses.Response):
                raise CoachError("the coach sent an unreadable answer")
            if response.status != "completed":
                raise CoachError(f"the coach's answer is {response.status}")
            return response
        if attempt == ATTEMPTS or time.monotonic() + wait > deadline:
            raise CoachError("the coach is unavailable right now") from failure
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _spend(http: httpx.AsyncClient, args: _Args) -> Spend:
    try:
        response = await http.get(
            LEDGER_URL.format(account=args.account),
            params={"month": args.month, "category": args.category},
            timeout=1.5,
        )
        response.raise_for_status()
        return Spend.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise CoachError("the ledger is unavailable") from exc


async def _answer(question: str, account: str, http: httpx.AsyncClient) -> SpendAnswer:
    llm = openai.AsyncOpenAI(http_client=http, max_retries=0)
    deadline = time.monotonic() + DEADLINE_S
    user = f"[account {account}] {question}"
    first = await _respond(llm, deadline, input=user)
    calls = [item for item in first.output if item.type == "function_call"]
    if len(calls) != 1 or calls[0].name != "monthly_spend":
        raise CoachError("the coach did not look the spending up")
    try:
        args = _Args.model_validate_json(calls[0].arguments)
    except ValidationError as exc:
        raise CoachError("the coach sent unreadable arguments") from exc
    spend = await _spend(http, args)
    final = await _respond(
        llm,
        deadline,
        input=[
            {"role": "user", "content": user},
            {
                "type": "function_call",
                "call_id": calls[0].call_id,
                "name": calls[0].name,
                "arguments": calls[0].arguments,
            },
            {
                "type": "function_call_output",
                "call_id": calls[0].call_id,
                "output": spend.model_dump_json(),
            },
        ],
    )
    reply = final.output_text.strip()
    if not reply:
        raise CoachError("the coach gave no answer")
    return SpendAnswer(**spend.model_dump(exclude={"account"}), reply=reply)


async def answer(
    question: str,
    account: str,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Answer a spending question as a ``SpendAnswer`` dict, or raise CoachError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return (await _answer(question, account, http)).model_dump()
        except TimeoutError as exc:
            raise CoachError("no answer in time") from exc
