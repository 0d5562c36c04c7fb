"""Clinic booking assistant: "I need a dermatologist next week, mornings if possible".

The app fetches the free slots from the clinic's scheduling service
(``http://clinic.zoo.test``) itself, then asks the model to pick one. The pick comes back as a
forced ``propose_appointment`` tool call, streamed in tool-call deltas (OpenAI Chat
Completions), whose arguments are the structured proposal the app returns.

What it gets right: SDK retries off and an explicit ``BookingError`` on any provider or
scheduling failure; one deadline; a short timeout on the scheduling service and validation of
its answer; the stream must finish with ``finish_reason: tool_calls`` and name the right tool;
a proposal whose shape is wrong is refused, and the slot must be one the service offered.

PLANTED BUG (repairs invalid JSON): when the proposal's JSON does not parse (cut off), the app
closes it itself ("a partial proposal is still worth showing") and returns what it holds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o-mini"
SLOTS_URL = "http://clinic.zoo.test/v1/slots"
DEADLINE_S = 5.5
SYSTEM = (
    "You book appointments at Zoo Clinic. Choose the free slot that best fits the patient's "
    "request from the list given and call propose_appointment. Only propose listed slots."
)
PROPOSE = {
    "type": "function",
    "function": {
        "name": "propose_appointment",
        "description": "Propose one free slot to the patient.",
        "parameters": {
            "type": "object",
            "properties": {
                "slot_id": {"type": "string"},
                "starts_at": {"type": "string", "description": "ISO 8601 start time"},
                "doctor": {"type": "string"},
                "note": {"type": "string", "description": "One sentence for the patient"},
            },
            "required": ["slot_id", "starts_at", "doctor", "note"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


class BookingError(Exception):
    """No appointment can be proposed right now."""


class Slot(BaseModel):
    slot_id: str
    starts_at: str
    doctor: str


class SlotList(BaseModel):
    specialty: str
    slots: list[Slot] = Field(min_length=1)


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_id: str = Field(pattern=r"^SL-\d+$")
    starts_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
    doctor: str = Field(min_length=3)
    note: str = Field(min_length=1)


async def _slots(http: httpx.AsyncClient, specialty: str) -> SlotList:
    try:
        response = await http.get(SLOTS_URL, params={"specialty": specialty}, timeout=1.5)
        response.raise_for_status()
        return SlotList.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise BookingError("the clinic's scheduling service is unavailable") from exc


async def _proposal_arguments(llm: openai.AsyncOpenAI, messages: list[dict[str, Any]]) -> str:
    name, arguments, finish = "", [], None
    stream = await llm.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=[PROPOSE],
        tool_choice={"type": "function", "function": {"name": "propose_appointment"}},
        stream=True,
    )
    async for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        for call in (choice.delta.tool_calls if choice.delta else None) or []:
            if call.index != 0:
                raise BookingError("the assistant proposed more than one appointment")
            if call.function and call.function.name:
                name = call.function.name
            if call.function and call.function.arguments:
                arguments.append(call.function.arguments)
        finish = choice.finish_reason or finish
    if finish not in ("tool_calls", "stop"):
        raise BookingError(f"the assistant's proposal was cut off ({finish})")
    if name != "propose_appointment":
        raise BookingError(f"the assistant called an unknown tool {name!r}")
    return "".join(arguments)


def _close_json(text: str) -> Any:
    """Make cut-off JSON parse: close an open string, drop a dangling key or separator, close
    every open bracket."""
    closers: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]" and closers:
            closers.pop()
    fixed = text + ('"' if in_string else "")
    fixed = fixed.rstrip().rstrip(",:")
    if fixed.endswith('"') and fixed.rstrip('"').rstrip().endswith(("{", ",")):
        fixed = fixed[: fixed.rstrip('"').rstrip().rfind('"')].rstrip().rstrip(",")
    try:
        return json.loads(fixed + "".join(reversed(closers)))
    except json.JSONDecodeError:
        # a key without its value: drop back to the last complete member
        cut = fixed.rfind(",")
        return json.loads(fixed[: max(cut, 1)] + "".join(reversed(closers)))


def _proposal(arguments: str, offered: SlotList) -> dict[str, Any]:
    try:
        data = json.loads(arguments)
    except json.JSONDecodeError:
        # BUG: the proposal was cut off; close its JSON and show what it holds.
        return _close_json(arguments)
    try:
        proposal = Proposal.model_validate(data)
    except ValidationError as exc:
        raise BookingError("the assistant's proposal is not a valid appointment") from exc
    if not any(s.slot_id == proposal.slot_id for s in offered.slots):
        raise BookingError("the assistant proposed a slot the clinic did not offer")
    return proposal.model_dump()


async def answer(
    request: str,
    specialty: str,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Propose an appointment as a ``Proposal`` dict, or raise BookingError."""
    async with http_client_factory() as http:
        llm = openai.AsyncOpenAI(http_client=http, max_retries=0)
        try:
            async with asyncio.timeout(DEADLINE_S):
                offered = await _slots(http, specialty)
                messages = [
                    {"role": "system", "content": SYSTEM},
                    {
                        "role": "user",
                        "content": f"{request}\n\nFree slots: {offered.model_dump_json()}",
                    },
                ]
                arguments = await _proposal_arguments(llm, messages)
        except TimeoutError as exc:
            raise BookingError("no proposal in time") from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            raise BookingError(f"the assistant is unavailable: {type(exc).__name__}") from exc
        return _proposal(arguments, offered)
