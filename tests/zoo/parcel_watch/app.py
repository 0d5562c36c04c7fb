"""Parcel tracker: "where is my parcel ZX-7730-PT?" answered from the carrier's tracking API.

Anthropic Messages, streamed: Claude asks for ``track_parcel`` (a ``tool_use`` block whose input
arrives in ``input_json_delta`` pieces), the app calls the tracking API
(``http://track.zoo.test``) and Claude streams the answer as a JSON object the app's front end
renders (status, location, expected delivery and a message).

What it gets right: SDK retries off and an explicit ``TrackingError`` on any provider or
tracking failure; one deadline; a short timeout on the tracking API and validation of its
answer; every stream must end with ``message_stop`` and the expected ``stop_reason``; the tool
call's name and input are checked.

PLANTED BUG (accepts drifted output): the answer's JSON is parsed and handed on as it is; its
shape is never checked against ``ParcelAnswer``, so a renamed, retyped or missing field goes
straight to the user.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "claude-haiku-4-5"
TRACK_URL = "http://track.zoo.test/v1/parcels/{parcel}"
DEADLINE_S = 5.5
SYSTEM = (
    "You are Zoo Parcels' tracking assistant. Call track_parcel, then answer with only a JSON "
    'object: {"parcel_id", "status", "location", "expected_delivery", "message"}.'
)
TOOLS = [
    {
        "name": "track_parcel",
        "description": "Tracking events and delivery estimate of a parcel.",
        "input_schema": {
            "type": "object",
            "properties": {"parcel_id": {"type": "string"}},
            "required": ["parcel_id"],
        },
    }
]


class TrackingError(Exception):
    """The parcel cannot be tracked right now."""


class Tracking(BaseModel):
    parcel_id: str
    status: str
    location: str
    expected_delivery: str


class ParcelAnswer(BaseModel):
    """What the front end renders."""

    model_config = ConfigDict(extra="forbid")

    parcel_id: str
    status: str
    location: str
    expected_delivery: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    message: str = Field(min_length=1)


class _Input(BaseModel):
    parcel_id: str = Field(pattern=r"^[A-Z]{2}-\d{4}-[A-Z]{2}$")


async def _turn(llm: anthropic.AsyncAnthropic, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One streamed turn, reassembled; refuses a stream that did not end properly."""
    blocks: dict[int, dict[str, Any]] = {}
    stop_reason, stopped = None, False
    stream = await llm.messages.create(
        model=MODEL, max_tokens=700, system=SYSTEM, tools=TOOLS, messages=messages, stream=True
    )
    async for event in stream:
        if event.type == "content_block_start":
            block = event.content_block.model_dump()
            block.update({"text": "", "partial": ""})
            blocks[event.index] = block
        elif event.type == "content_block_delta":
            block = blocks[event.index]
            if event.delta.type == "text_delta":
                block["text"] += event.delta.text
            elif event.delta.type == "input_json_delta":
                block["partial"] += event.delta.partial_json
        elif event.type == "message_delta":
            stop_reason = event.delta.stop_reason
        elif event.type == "message_stop":
            stopped = True
    if not stopped or stop_reason not in ("end_turn", "tool_use"):
        raise TrackingError(f"the assistant's answer was cut off ({stop_reason})")
    return {"stop_reason": stop_reason, "blocks": [blocks[i] for i in sorted(blocks)]}


async def _track(http: httpx2.AsyncClient, parcel: str) -> Tracking:
    try:
        response = await http.get(TRACK_URL.format(parcel=parcel), timeout=1.5)
        response.raise_for_status()
        return Tracking.model_validate_json(response.content)
    except (httpx2.HTTPError, ValidationError) as exc:
        raise TrackingError("the tracking service is unavailable") from exc


async def _answer(question: str, http: httpx2.AsyncClient) -> dict[str, Any]:
    llm = anthropic.AsyncAnthropic(http_client=http, max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    first = await _turn(llm, messages)
    uses = [b for b in first["blocks"] if b["type"] == "tool_use"]
    if first["stop_reason"] != "tool_use" or len(uses) != 1 or uses[0]["name"] != "track_parcel":
        raise TrackingError("the assistant did not track the parcel")
    try:
        parcel = _Input.model_validate_json(uses[0]["partial"] or "{}").parcel_id
    except ValidationError as exc:
        raise TrackingError("the assistant sent an unreadable parcel number") from exc
    tracking = await _track(http, parcel)
    said = [
        {"type": "text", "text": b["text"]}
        if b["type"] == "text"
        else {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {"parcel_id": parcel}}
        for b in first["blocks"]
    ]
    messages += [
        {"role": "assistant", "content": said},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": uses[0]["id"],
                    "content": tracking.model_dump_json(),
                }
            ],
        },
    ]
    final = await _turn(llm, messages)
    text = "".join(b["text"] for b in final["blocks"] if b["type"] == "text")
    try:
        # BUG: parsed, never validated against ParcelAnswer.
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrackingError("the assistant's answer is not readable") from exc


async def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx2.AsyncClient] = httpx2.AsyncClient,
) -> dict[str, Any]:
    """Answer a tracking question as a ``ParcelAnswer``-shaped dict, or raise TrackingError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return await _answer(question, http)
        except TimeoutError as exc:
            raise TrackingError("no answer in time") from exc
        except (anthropic.AnthropicError, httpx2.HTTPError, ValueError) as exc:
            raise TrackingError(f"the assistant is unavailable: {type(exc).__name__}") from exc
