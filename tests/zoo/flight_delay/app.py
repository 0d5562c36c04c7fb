"""Flight delay desk: "is my flight TP1350 delayed?" answered from the airline's status service.

Anthropic Messages, not streamed: Claude asks for ``get_flight_status`` (a ``tool_use`` block),
the app calls the status service (``http://flights.zoo.test``), returns the ``tool_result`` and
Claude words the answer. The status, delay and new departure time in the answer are the
service's, never the model's.

What it gets right: one overall deadline; a short timeout on the status service and an explicit
``FlightDeskError`` when it fails or answers incompletely; the tool call's name and input are
checked; ``stop_reason`` must say the model finished; its own retry loop (SDK retries off) is
bounded to three attempts per call and never retries a 4xx other than 429.

PLANTED BUG (ignores retry-after): between attempts it sleeps a fixed 150 ms, whatever the
provider's ``retry-after`` header asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "claude-sonnet-4-5"
STATUS_URL = "http://flights.zoo.test/v2/flights/{flight}/status"
DEADLINE_S = 5.5
ATTEMPTS = 3
PAUSE_S = 0.15
TOOLS = [
    {
        "name": "get_flight_status",
        "description": "Live status of a flight by its IATA flight number (e.g. TP1350).",
        "input_schema": {
            "type": "object",
            "properties": {"flight": {"type": "string", "description": "IATA flight number"}},
            "required": ["flight"],
        },
    }
]
SYSTEM = (
    "You help travellers with flight delays. Look the flight up with get_flight_status before "
    "answering; state only what the status service says."
)


class FlightDeskError(Exception):
    """The flight's status cannot be given right now."""


class FlightStatus(BaseModel):
    flight: str
    status: str
    delay_minutes: int
    new_departure: str
    gate: str


class DelayAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flight: str
    status: str
    delay_minutes: int
    new_departure: str
    reply: str = Field(min_length=1)


class _Input(BaseModel):
    flight: str = Field(pattern=r"^[A-Z0-9]{2}\d{1,4}$")


async def _create(llm: anthropic.AsyncAnthropic, messages: list[dict[str, Any]]) -> Any:
    """One model call, retried on rate limits, overload and lost connections."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await llm.messages.create(
                model=MODEL, max_tokens=512, system=SYSTEM, tools=TOOLS, messages=messages
            )
        except anthropic.APIStatusError as exc:
            retryable = exc.status_code == 429 or exc.status_code >= 500
            if not retryable or attempt == ATTEMPTS:
                raise FlightDeskError(f"the assistant is unavailable ({exc.status_code})") from exc
        except (anthropic.APIConnectionError, ValueError) as exc:
            # lost connection, or a body that is not JSON (cut short): worth another try
            if attempt == ATTEMPTS:
                raise FlightDeskError("the assistant could not be reached") from exc
        # BUG: a fixed pause; the 429's retry-after is never read.
        await asyncio.sleep(PAUSE_S)
    raise AssertionError("unreachable")


def _message(response: Any, stop: str) -> Any:
    if not isinstance(response, anthropic.types.Message) or response.stop_reason != stop:
        reason = getattr(response, "stop_reason", type(response).__name__)
        raise FlightDeskError(f"the assistant's answer was incomplete ({reason})")
    return response


async def _status(http: httpx2.AsyncClient, flight: str) -> FlightStatus:
    try:
        response = await http.get(STATUS_URL.format(flight=flight), timeout=1.5)
        response.raise_for_status()
        return FlightStatus.model_validate_json(response.content)
    except (httpx2.HTTPError, ValidationError) as exc:
        raise FlightDeskError("the flight status service is unavailable") from exc


async def _answer(question: str, http: httpx2.AsyncClient) -> DelayAnswer:
    llm = anthropic.AsyncAnthropic(http_client=http, max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    first = _message(await _create(llm, messages), "tool_use")
    uses = [b for b in first.content if b.type == "tool_use"]
    if len(uses) != 1 or uses[0].name != "get_flight_status":
        raise FlightDeskError("the assistant asked for something it cannot have")
    try:
        flight = _Input.model_validate(uses[0].input).flight
    except ValidationError as exc:
        raise FlightDeskError("the assistant sent an unreadable flight number") from exc
    status = await _status(http, flight)
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": uses[0].id,
                    "content": status.model_dump_json(),
                }
            ],
        },
    ]
    final = _message(await _create(llm, messages), "end_turn")
    reply = "".join(b.text for b in final.content if b.type == "text").strip()
    if not reply:
        raise FlightDeskError("the assistant gave no answer")
    return DelayAnswer(**status.model_dump(exclude={"gate"}), reply=reply)


async def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx2.AsyncClient] = httpx2.AsyncClient,
) -> dict[str, Any]:
    """Answer a delay question as a ``DelayAnswer`` dict, or raise FlightDeskError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return (await _answer(question, http)).model_dump()
        except TimeoutError as exc:
            raise FlightDeskError("no answer in time") from exc
