"""Home-insurance claim triage on pydantic-ai: "a burst pipe flooded my kitchen".

The app reads the customer's policy from the insurer's policy service
(``http://policies.zoo.test``) and has a pydantic-ai ``Agent`` on Anthropic Messages (not
streamed) triage the claim. The triage is structured output: pydantic-ai asks for it as its
``final_result`` output tool, so it arrives as that ``tool_use`` block's input.

What it gets right: the SDK's retries off and a bounded loop of its own (three runs at most,
backoff that honours ``retry-after``, only for rate limits, overloads, server errors, broken
connections and unreadable answers); one overall deadline; a short timeout on the policy
service and a strict model of the policy; the excess in the triage must be the policy's;
every failure is a ``TriageError``.

PLANTED BUG (leaks unvalidated output): the triage's shape is given to pydantic-ai as the
claims system's JSON schema wrapped in ``StructuredDict``, whose output pydantic-ai does not
validate by default (``validate=False``). Whatever object the model sends back is returned as
the triage; the ``ClaimTriage`` model the contract declares is never applied to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal

import anthropic
import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_ai import Agent, StructuredDict
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRequestRejectedError,
)
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

MODEL = "claude-haiku-4-5"
POLICY_URL = "http://policies.zoo.test/v1/policies/{policy_id}"
DEADLINE_S = 8.0
ATTEMPTS = 3
BACKOFF_S = 0.3
INSTRUCTIONS = (
    "You triage home-insurance claims for Zoo Mutual. Decide from the policy given whether the "
    "damage is covered, state the policy's excess, set a priority (urgent when the home is "
    "unsafe or water is still running) and the customer's next step."
)
# The claims system's schema for a triage, kept as it is there.
TRIAGE_SCHEMA = {
    "title": "ClaimTriage",
    "type": "object",
    "properties": {
        "policy_id": {"type": "string"},
        "covered": {"type": "boolean"},
        "excess_eur": {"type": "number"},
        "priority": {"type": "string", "enum": ["low", "normal", "urgent"]},
        "next_step": {"type": "string"},
    },
    "required": ["policy_id", "covered", "excess_eur", "priority", "next_step"],
    "additionalProperties": False,
}


class TriageError(Exception):
    """The claim cannot be triaged right now."""


class ClaimTriage(BaseModel):
    """The triage the claims system accepts (the contract's output model)."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(pattern=r"^HX-\d{5}$")
    covered: bool
    excess_eur: float = Field(ge=0)
    priority: Literal["low", "normal", "urgent"]
    next_step: str = Field(min_length=1)


class Cover(BaseModel):
    escape_of_water: bool
    storm: bool
    theft: bool


class Policy(BaseModel):
    policy_id: str
    holder: str
    cover: Cover
    excess_eur: float
    renewal_date: str


# BUG: StructuredDict does not validate the model's output (validate=False by default).
agent = Agent(output_type=StructuredDict(TRIAGE_SCHEMA), instructions=INSTRUCTIONS, retries=1)


async def _policy(http: httpx2.AsyncClient, policy_id: str) -> Policy:
    try:
        response = await http.get(POLICY_URL.format(policy_id=policy_id), timeout=1.5)
        response.raise_for_status()
        policy = Policy.model_validate_json(response.content)
    except (httpx2.HTTPError, ValidationError) as exc:
        raise TriageError(f"the policy service is unavailable: {type(exc).__name__}") from exc
    if policy.policy_id != policy_id:
        raise TriageError("the policy service sent another policy")
    return policy


def _transient(exc: Exception) -> bool:
    """Worth another run: a rate limit, an overloaded or failing provider, a broken connection
    or an answer that could not be read; not an exhausted quota or a rejected request."""
    if isinstance(exc, ModelQuotaExceededError | ModelRequestRejectedError):
        return False
    if isinstance(exc, ModelHTTPError) and exc.status_code < 500:
        return exc.status_code in (408, 409, 429)
    if isinstance(exc, ModelAPIError):
        return True
    return isinstance(exc, anthropic.APIConnectionError | anthropic.APIResponseValidationError)


async def _triage(agent_input: str, model: AnthropicModel, deadline: float) -> dict[str, Any]:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return (await agent.run(agent_input, model=model)).output
        except (ModelAPIError, anthropic.AnthropicError) as exc:
            if not _transient(exc):
                raise TriageError(f"the triage model is unavailable: {type(exc).__name__}") from exc
            failure: Exception = exc
        except AgentRunError as exc:
            raise TriageError(f"the triage is unusable: {exc}") from exc
        asked = failure.retry_after if isinstance(failure, ModelAPIError) else None
        pause = max(BACKOFF_S * 2 ** (attempt - 1), asked or 0.0)
        if attempt == ATTEMPTS or time.monotonic() + pause >= deadline:
            raise TriageError(f"the triage model is unavailable: {type(failure).__name__}") from (
                failure
            )
        await asyncio.sleep(pause)
    raise AssertionError("unreachable")


async def answer(
    claim: str,
    policy_id: str,
    *,
    http_client_factory: Callable[..., httpx2.AsyncClient] = httpx2.AsyncClient,
) -> dict[str, Any]:
    """Triage a claim as a ``ClaimTriage``-shaped dict, or raise TriageError."""
    async with http_client_factory() as http:
        llm = anthropic.AsyncAnthropic(http_client=http, max_retries=0)
        model = AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=llm))
        try:
            async with asyncio.timeout(DEADLINE_S):
                policy = await _policy(http, policy_id)
                agent_input = f"{claim}\n\nPolicy: {policy.model_dump_json()}"
                triage = await _triage(agent_input, model, time.monotonic() + DEADLINE_S)
        except TimeoutError as exc:
            raise TriageError("no triage in time") from exc
        if triage.get("excess_eur") != policy.excess_eur:
            raise TriageError("the triage states another excess than the policy's")
        return triage
