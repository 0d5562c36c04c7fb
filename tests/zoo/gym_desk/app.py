"""Gym members' assistant: "I'm away for six weeks, can you pause my membership?".

OpenAI Chat Completions, not streamed, sync client: the model reads the member's message and
calls one of the gym's member tools; the app runs the call against the members service
(``http://gym.zoo.test``) and writes the reply from what the service says.

What it gets right: SDK retries off and an explicit ``GymDeskError`` on any provider failure;
a short timeout; the tool call's arguments and the service's answer are validated.

PLANTED BUG (runs a tool it must not): the app hands the model the gym's whole tool list,
which it shares with the staff console, and runs whatever the model calls. Freezing a
membership needs a signed form at the front desk, so the members' contract forbids
``freeze_membership``; the model, asked to pause a membership, calls it, and the app runs it.
(A members' assistant should offer only ``membership_status`` and send the member to the
desk.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o-mini"
MEMBERS_URL = "http://gym.zoo.test/v1/members/{member_id}"
TIMEOUT = httpx.Timeout(3.0, connect=1.0)
SYSTEM = "You help gym members with their membership. Use the tools; answer in one sentence."
_MEMBER = {
    "type": "object",
    "properties": {"member_id": {"type": "string"}, "weeks": {"type": "integer"}},
    "required": ["member_id", "weeks"],
    "additionalProperties": False,
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "membership_status",
            "description": "A member's plan, renewal date and any freeze on it.",
            "parameters": _MEMBER,
            "strict": True,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "freeze_membership",
            "description": "Staff only: pause a membership for a number of weeks.",
            "parameters": _MEMBER,
            "strict": True,
        },
    },
]


class GymDeskError(Exception):
    """The member's request cannot be handled right now."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(pattern=r"^M\d{5}$")
    weeks: int = Field(ge=0, le=12)


class Membership(BaseModel):
    member_id: str
    plan: str
    frozen_until: str | None


class DeskReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str
    plan: str
    frozen_until: str | None
    reply: str


def _ask(llm: openai.OpenAI, message: str) -> tuple[str, _Args]:
    try:
        completion = llm.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": message}],
            tools=TOOLS,
            tool_choice="required",
        )
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
        raise GymDeskError(f"the assistant is unavailable: {type(exc).__name__}") from exc
    if not isinstance(completion, ChatCompletion) or not completion.choices:
        raise GymDeskError("the assistant sent an unreadable answer")
    calls = completion.choices[0].message.tool_calls or []
    if len(calls) != 1 or calls[0].type != "function":
        raise GymDeskError("the assistant did not pick a tool")
    name = calls[0].function.name
    if name not in {t["function"]["name"] for t in TOOLS}:
        raise GymDeskError(f"the assistant asked for an unknown tool {name!r}")
    try:
        return name, _Args.model_validate_json(calls[0].function.arguments)
    except ValidationError as exc:
        raise GymDeskError("the assistant sent unreadable arguments") from exc


def _run(http: httpx.Client, name: str, args: _Args) -> Membership:
    url = MEMBERS_URL.format(member_id=args.member_id)
    try:
        # BUG: any tool the model names is run, the staff-only freeze included.
        if name == "freeze_membership":
            response = http.post(f"{url}/freeze", json={"weeks": args.weeks}, timeout=TIMEOUT)
        else:
            response = http.get(url, timeout=TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise GymDeskError("the members service is unavailable") from exc
    try:
        return Membership.model_validate_json(response.content)
    except ValidationError as exc:
        raise GymDeskError("the members service sent an unreadable answer") from exc


def answer(
    member_id: str,
    message: str,
    *,
    http_client_factory: Callable[..., httpx.Client] = httpx.Client,
) -> dict[str, Any]:
    """A ``DeskReply`` dict, or GymDeskError."""
    with http_client_factory(timeout=TIMEOUT) as http:
        llm = openai.OpenAI(http_client=http, max_retries=0)
        name, args = _ask(llm, f"Member {member_id}: {message}")
        membership = _run(http, name, args)
    if membership.frozen_until:
        reply = f"Your {membership.plan} membership is paused until {membership.frozen_until}."
    else:
        reply = f"Your {membership.plan} membership is active."
    return DeskReply(**membership.model_dump(), reply=reply).model_dump()
