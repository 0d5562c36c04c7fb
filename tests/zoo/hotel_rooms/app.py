"""Hotel availability: "any rooms at the Miradouro for 3 nights from 18 December?".

Anthropic Messages, not streamed, sync client: Claude asks for ``check_availability``
(``tool_use``), the app asks the booking engine (``http://hotels.zoo.test``), returns the
``tool_result`` and Claude words the answer. Rooms left and price come from the booking engine.

What it gets right: a per-request timeout and the SDK's default, bounded retries (two, with
backoff, honouring ``retry-after``); a short timeout on the booking engine and an explicit
``HotelError`` when it fails or answers incompletely; the tool call's name and input are
validated; ``stop_reason`` is checked.

PLANTED BUG (crashes with no fallback): nothing catches the provider's errors. When Claude is
overloaded or unreachable past the SDK's retries, the SDK's exception escapes to the caller:
no fallback model, no explicit "try again later".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import anthropic
import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "claude-sonnet-4-5"
AVAILABILITY_URL = "http://hotels.zoo.test/v1/hotels/{hotel}/availability"
TOOLS = [
    {
        "name": "check_availability",
        "description": "Rooms left and nightly price at a Zoo Stays hotel.",
        "input_schema": {
            "type": "object",
            "properties": {
                "hotel_id": {"type": "string"},
                "check_in": {"type": "string", "format": "date"},
                "nights": {"type": "integer", "minimum": 1},
            },
            "required": ["hotel_id", "check_in", "nights"],
        },
    }
]
SYSTEM = (
    "You are the Zoo Stays booking assistant. Hotels: Miradouro (H-311), Ribeira (H-207). "
    "Check availability before answering."
)


class HotelError(Exception):
    """Availability cannot be given right now."""


class Availability(BaseModel):
    hotel_id: str
    check_in: date
    nights: int
    rooms_left: int
    price_per_night_eur: float


class RoomAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hotel_id: str
    check_in: date
    nights: int
    rooms_left: int = Field(ge=0)
    price_per_night_eur: float = Field(gt=0)
    reply: str = Field(min_length=1)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hotel_id: str = Field(pattern=r"^H-\d{3}$")
    check_in: date
    nights: int = Field(ge=1, le=30)


def _availability(http: httpx2.Client, request: _Input) -> Availability:
    try:
        response = http.get(
            AVAILABILITY_URL.format(hotel=request.hotel_id),
            params={"check_in": request.check_in.isoformat(), "nights": request.nights},
            timeout=1.5,
        )
        response.raise_for_status()
        return Availability.model_validate_json(response.content)
    except (httpx2.HTTPError, ValidationError) as exc:
        raise HotelError("the booking engine is unavailable") from exc


def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx2.Client] = httpx2.Client,
) -> dict[str, Any]:
    """Answer an availability question as a ``RoomAnswer`` dict, or raise HotelError."""
    with http_client_factory() as http:
        llm = anthropic.Anthropic(http_client=http, timeout=2.5)
        messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
        # BUG: provider errors (overload, rate limit, lost connection) are not caught.
        first = llm.messages.create(
            model=MODEL, max_tokens=600, system=SYSTEM, tools=TOOLS, messages=messages
        )
        uses = [b for b in first.content if b.type == "tool_use"]
        if first.stop_reason != "tool_use" or len(uses) != 1:
            raise HotelError("the assistant did not check availability")
        if uses[0].name != "check_availability":
            raise HotelError(f"the assistant asked for an unknown tool {uses[0].name!r}")
        try:
            request = _Input.model_validate(uses[0].input)
        except ValidationError as exc:
            raise HotelError("the assistant sent an unreadable request") from exc
        rooms = _availability(http, request)
        messages += [
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in first.content],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": uses[0].id,
                        "content": rooms.model_dump_json(),
                    }
                ],
            },
        ]
        final = llm.messages.create(
            model=MODEL, max_tokens=600, system=SYSTEM, tools=TOOLS, messages=messages
        )
    reply = "".join(b.text for b in final.content if b.type == "text").strip()
    if final.stop_reason != "end_turn" or not reply:
        raise HotelError("the assistant's answer is incomplete")
    return RoomAnswer(**rooms.model_dump(), reply=reply).model_dump(mode="json")
