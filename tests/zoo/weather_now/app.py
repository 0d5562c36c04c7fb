"""Weather right now: "what is it like in Lisbon?" answered from a live weather service.

OpenAI Chat Completions, streamed: the model asks for ``get_current_weather`` in tool-call
deltas, the app calls the weather service (``http://weather.zoo.test``) and the model words the
answer, also streamed. The facts in the answer (temperature, conditions, wind) come from the
service, never from the model.

What it gets right: SDK retries off (``max_retries=0``) and a fast, explicit
``WeatherUnavailable`` on any provider failure; one deadline shared by all the model calls; every
stream must finish (``finish_reason``) and every chunk must be well formed; the tool call's
name and arguments are checked; the service's answer is validated before use.

PLANTED BUG (no tool timeout): the weather service is called with ``timeout=None`` and outside
the deadline, on the assumption that an internal service always answers. When it accepts the
connection and then says nothing, the app waits for as long as the service does.
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
WEATHER_URL = "http://weather.zoo.test/v1/current"
MODEL_BUDGET_S = 5.0  # for all model calls of one question together

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Current weather observed in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]
SYSTEM = (
    "You report the current weather. Always call get_current_weather; never guess. "
    "Answer in one or two friendly sentences."
)


class WeatherUnavailable(Exception):
    """The weather cannot be reported right now (the user sees this, not a guess)."""


class Observation(BaseModel):
    """What the weather service returns; every field is needed for an answer."""

    city: str
    temperature_c: float
    conditions: str
    wind_kph: float


class WeatherReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: str
    temperature_c: float
    conditions: str
    wind_kph: float
    summary: str = Field(min_length=1)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: str = Field(min_length=1)


async def _stream(llm: openai.AsyncOpenAI, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One streamed completion, reassembled; refuses a stream that did not finish."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish = None
    stream = await llm.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        if delta is None:
            raise WeatherUnavailable("the model sent a malformed chunk")
        if delta.content:
            text.append(delta.content)
        for call in delta.tool_calls or []:
            slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            if call.id:
                slot["id"] = call.id
            if call.function and call.function.name:
                slot["name"] = call.function.name
            if call.function and call.function.arguments:
                slot["arguments"] += call.function.arguments
        finish = choice.finish_reason or finish
    if finish not in ("stop", "tool_calls"):
        raise WeatherUnavailable(f"the model's answer was cut off (finish_reason={finish})")
    return {"text": "".join(text), "calls": [calls[i] for i in sorted(calls)], "finish": finish}


def _city(call: dict[str, str]) -> str:
    if call["name"] != "get_current_weather":
        raise WeatherUnavailable(f"the model asked for an unknown tool {call['name']!r}")
    try:
        return _Args.model_validate_json(call["arguments"]).city
    except ValidationError as exc:
        raise WeatherUnavailable("the model sent unreadable tool arguments") from exc


async def _observe(http: httpx.AsyncClient, city: str) -> Observation:
    try:
        # BUG: no timeout, and this call is outside the model calls' deadline.
        response = await http.get(WEATHER_URL, params={"city": city}, timeout=None)
        response.raise_for_status()
        return Observation.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise WeatherUnavailable(f"the weather service failed: {type(exc).__name__}") from exc


async def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Answer a weather question as a ``WeatherReport`` dict, or raise WeatherUnavailable."""
    async with http_client_factory() as http:
        llm = openai.AsyncOpenAI(http_client=http, max_retries=0)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
        ]
        deadline = asyncio.get_running_loop().time() + MODEL_BUDGET_S
        try:
            async with asyncio.timeout_at(deadline):
                first = await _stream(llm, messages)
            if len(first["calls"]) != 1:
                raise WeatherUnavailable("the model did not look the weather up")
            call = first["calls"][0]
            observation = await _observe(http, _city(call))
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": call["arguments"]},
                        }
                    ],
                }
            )
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "content": observation.model_dump_json(),
                }
            )
            async with asyncio.timeout_at(deadline):
                final = await _stream(llm, messages)
        except (openai.OpenAIError, httpx.HTTPError, json.JSONDecodeError) as exc:
            reason = type(exc).__name__
            raise WeatherUnavailable(f"the model could not be reached: {reason}") from exc
        except TimeoutError as exc:
            raise WeatherUnavailable("the model took too long") from exc
        if final["finish"] != "stop" or not final["text"].strip():
            raise WeatherUnavailable("the model gave no answer")
        report = WeatherReport(**observation.model_dump(), summary=final["text"].strip())
        return report.model_dump()
