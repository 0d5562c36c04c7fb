"""HR leave assistant: "how many holiday days do I have left?" answered from the HR system.

OpenAI Responses API, not streamed, with server-side state: the model calls
``get_leave_balance``, the app asks the HR system (``http://hr.zoo.test``) and continues the
same response chain (``previous_response_id``) with the ``function_call_output``. The answer's
figures are the HR system's; the model only words them.

What it gets right: SDK retries off and an explicit ``LeaveError`` on any provider or HR
failure; one deadline; a short timeout on the HR system; the function call's name and
arguments are checked; the response must be ``completed``.

PLANTED BUG (default stated for an unknown): the HR record is read with ``.get(field,
default)``, so a balance the HR system did not send becomes ``0.0`` days (or an empty expiry
date) and is told to the employee as a fact.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai.types.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4.1"
LEAVE_URL = "http://hr.zoo.test/v1/employees/{employee}/leave"
DEADLINE_S = 5.5
TOOLS = [
    {
        "type": "function",
        "name": "get_leave_balance",
        "description": "Leave balance of an employee for the current year.",
        "parameters": {
            "type": "object",
            "properties": {"employee_id": {"type": "string"}},
            "required": ["employee_id"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]
INSTRUCTIONS = "You answer employees' leave questions. Use get_leave_balance; be brief and exact."


class LeaveError(Exception):
    """The leave balance cannot be given right now."""


class LeaveAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str
    annual_days_left: float | None
    carry_over_days: float | None
    carry_over_expires: str | None
    reply: str = Field(min_length=1)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str = Field(pattern=r"^E-\d{4}$")


def _completed(response: Any) -> Response:
    if not isinstance(response, Response) or response.status != "completed":
        raise LeaveError("the assistant's answer is incomplete")
    return response


async def _record(http: httpx.AsyncClient, employee: str) -> dict[str, Any]:
    try:
        response = await http.get(LEAVE_URL.format(employee=employee), timeout=1.5)
        response.raise_for_status()
        record = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LeaveError("the HR system is unavailable") from exc
    if not isinstance(record, dict) or record.get("employee_id") != employee:
        raise LeaveError("the HR system sent someone else's record")
    return record


async def _answer(question: str, employee: str, http: httpx.AsyncClient) -> LeaveAnswer:
    llm = openai.AsyncOpenAI(http_client=http, max_retries=0)
    first = _completed(
        await llm.responses.create(
            model=MODEL,
            instructions=INSTRUCTIONS,
            tools=TOOLS,
            input=f"(employee {employee}) {question}",
        )
    )
    calls = [item for item in first.output if item.type == "function_call"]
    if len(calls) != 1 or calls[0].name != "get_leave_balance":
        raise LeaveError("the assistant did not look the balance up")
    try:
        args = _Args.model_validate_json(calls[0].arguments)
    except ValidationError as exc:
        raise LeaveError("the assistant sent unreadable arguments") from exc
    if args.employee_id != employee:
        raise LeaveError("the assistant asked for another employee's balance")
    record = await _record(http, employee)
    final = _completed(
        await llm.responses.create(
            model=MODEL,
            instructions=INSTRUCTIONS,
            tools=TOOLS,
            previous_response_id=first.id,
            input=[
                {
                    "type": "function_call_output",
                    "call_id": calls[0].call_id,
                    "output": json.dumps(record),
                }
            ],
        )
    )
    reply = final.output_text.strip()
    if not reply:
        raise LeaveError("the assistant gave no answer")
    return LeaveAnswer(
        employee_id=employee,
        # BUG: a figure the HR system did not send becomes 0 days / no expiry, stated as fact.
        annual_days_left=float(record.get("annual_days_left", 0.0)),
        carry_over_days=float(record.get("carry_over_days", 0.0)),
        carry_over_expires=record.get("carry_over_expires", ""),
        reply=reply,
    )


async def answer(
    question: str,
    employee: str,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Answer a leave question as a ``LeaveAnswer`` dict, or raise LeaveError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return (await _answer(question, employee, http)).model_dump()
        except TimeoutError as exc:
            raise LeaveError("no answer in time") from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            raise LeaveError(f"the assistant is unavailable: {type(exc).__name__}") from exc
