"""Mountain trail report: "is the Hohe Wand ridge trail open tomorrow?" answered from the park's
trail-conditions service.

OpenAI Chat Completions, not streamed, sync client: the model turns the hiker's words into a
``trail_conditions`` call, the app asks the conditions service (``http://trails.zoo.test``, a
search API that takes a client request id in its body) and writes the reply from the
service's figures.

What it gets right: SDK retries off and an explicit ``TrailReportError`` on any provider
failure; a short timeout on every call and one deadline checked between steps; the tool call
and the service's answer are validated.

PLANTED BUG (loops without a step budget): when the conditions service fails, the app starts
the whole workflow over (asks the model again, searches again with a new request id) up to ten
times, a "safety limit" far above the three steps one question needs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o-mini"
SEARCH_URL = "http://trails.zoo.test/v1/conditions/search"
DEADLINE_S = 5.0
TIMEOUT = httpx.Timeout(3.0, connect=1.0)
SEARCH_TIMEOUT = httpx.Timeout(0.5, connect=0.5)
PASSES = 10
SYSTEM = "Route the hiker's question to trail_conditions. Do not answer yourself."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "trail_conditions",
            "description": "Today's and tomorrow's conditions of a named trail.",
            "parameters": {
                "type": "object",
                "properties": {"trail": {"type": "string"}},
                "required": ["trail"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]


class TrailReportError(Exception):
    """The trail's conditions cannot be reported right now."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trail: str = Field(min_length=3)


class Conditions(BaseModel):
    trail: str
    status: Literal["open", "closed", "caution"]
    snow_cm: int
    note: str


class TrailReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trail: str
    status: Literal["open", "closed", "caution"]
    snow_cm: int = Field(ge=0)
    reply: str


def _route(llm: openai.OpenAI, question: str) -> _Args:
    try:
        completion = llm.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            tools=TOOLS,
            tool_choice="required",
        )
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
        raise TrailReportError(f"the assistant is unavailable: {type(exc).__name__}") from exc
    if not isinstance(completion, ChatCompletion) or not completion.choices:
        raise TrailReportError("the assistant sent an unreadable answer")
    calls = completion.choices[0].message.tool_calls or []
    if len(calls) != 1 or calls[0].type != "function":
        raise TrailReportError("the assistant did not route the question")
    if calls[0].function.name != "trail_conditions":
        raise TrailReportError("the assistant asked for a tool this app does not have")
    try:
        return _Args.model_validate_json(calls[0].function.arguments)
    except ValidationError as exc:
        raise TrailReportError("the assistant sent unreadable arguments") from exc


def _search(http: httpx.Client, args: _Args) -> Conditions | None:
    """The trail's conditions, or None when the service failed."""
    body = {"trail": args.trail, "request_id": str(uuid.uuid4())}
    try:
        response = http.post(SEARCH_URL, json=body, timeout=SEARCH_TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    try:
        return Conditions.model_validate_json(response.content)
    except ValidationError as exc:
        raise TrailReportError("the conditions service sent an incomplete report") from exc


def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx.Client] = httpx.Client,
) -> dict[str, Any]:
    """A ``TrailReport`` dict, or TrailReportError."""
    started = time.monotonic()
    with http_client_factory(timeout=TIMEOUT) as http:
        llm = openai.OpenAI(http_client=http, max_retries=0)
        # BUG: a failed search starts the whole workflow over, up to PASSES times.
        for _ in range(PASSES):
            if time.monotonic() - started > DEADLINE_S:
                break
            args = _route(llm, question)
            found = _search(http, args)
            if found is not None:
                reply = f"{found.trail}: {found.status}, {found.snow_cm} cm of snow. {found.note}"
                return TrailReport(
                    trail=found.trail, status=found.status, snow_cm=found.snow_cm, reply=reply
                ).model_dump()
    raise TrailReportError("the conditions service is unavailable")
