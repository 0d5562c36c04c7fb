"""A small app faultkit has never seen, for the derive tests: packing advice from a forecast.

It talks to an OpenAI-compatible server at ``http://127.0.0.1:8123/v1`` (a local model behind
the official openai SDK, so no request goes to api.openai.com and no bundled scenario's host
name matches) and to a weather tool on another host, ``weather.example``. The model first
calls ``get_forecast``; the app fetches the forecast, then asks for the answer as a
``json_schema`` structured output and checks it against the forecast. Every failure becomes a
``TripUnavailable``; it does not retry (a failed call is reported, not repeated).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

BASE_URL = "http://127.0.0.1:8123/v1"
WEATHER_URL = "http://weather.example/v1/forecast"
MODEL = "local-planner"

SYSTEM = "You help travellers pack. Use get_forecast for the weather; never guess it."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_forecast",
            "description": "Tomorrow's forecast for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
]


class ForecastArgs(BaseModel):
    city: str


class TripAdvice(BaseModel):
    city: str
    temperature_c: float
    pack: str


class TripUnavailable(Exception):
    """The advice cannot be given now (the model or the weather tool failed)."""


ADVICE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "trip_advice", "schema": TripAdvice.model_json_schema()},
}


def answer(question: str, http_client_factory: Callable[..., Any] = httpx.Client) -> TripAdvice:
    http = http_client_factory(timeout=httpx.Timeout(2.0))
    client = openai.OpenAI(base_url=BASE_URL, api_key="sk-local", http_client=http, max_retries=0)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question},
    ]
    try:
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        if not isinstance(first, ChatCompletion):  # a gateway's HTML page arrives as a str
            raise TripUnavailable("the model server did not answer with a completion")
        call = (first.choices[0].message.tool_calls or [None])[0]
        if call is None or call.function.name != "get_forecast":
            raise TripUnavailable("the model did not ask for the forecast")
        args = ForecastArgs.model_validate_json(call.function.arguments)
        reply = http.get(WEATHER_URL, params={"city": args.city})
        reply.raise_for_status()
        forecast = reply.json()
        messages += [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "get_forecast", "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(forecast)},
        ]
        second = client.chat.completions.create(
            model=MODEL, messages=messages, response_format=ADVICE_FORMAT
        )
        if not isinstance(second, ChatCompletion):
            raise TripUnavailable("the model server did not answer with a completion")
        advice = TripAdvice.model_validate_json(second.choices[0].message.content or "")
        if advice.temperature_c != forecast.get("temperature_c"):
            raise TripUnavailable("the advice does not match the forecast")
        return advice
    except (openai.OpenAIError, httpx.HTTPError, ValidationError, ValueError) as exc:
        raise TripUnavailable(str(exc)) from exc
    finally:
        http.close()
