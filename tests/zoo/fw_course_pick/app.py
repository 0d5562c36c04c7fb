"""Evening-course advisor on pydantic-ai: "a beginner course in data analysis, after work".

A pydantic-ai ``Agent`` on OpenAI Chat Completions (not streamed). The model looks courses up
with the ``search_courses`` tool (the adult-education college's catalogue,
``http://courses.zoo.test``) and answers with a ``CoursePick``, which pydantic-ai asks for as
its ``final_result`` output tool, so the structured answer travels in that tool call's
arguments.

The correct app of the zoo's framework apps; what it gets right:

- **Output**: a strict ``CoursePick`` model, plus an output validator that checks the pick
  against what the catalogue actually delivered (a course it listed, with its seats, fee and
  weekday). Invalid output is re-asked once (pydantic-ai's output retries, ``retries`` 1 for
  output and tools), then the run stops with ``AdvisorError``.
- **Provider errors**: the SDK's own retries are off; the whole run is tried at most
  :data:`ATTEMPTS` times, only for transient failures (rate limit, overload, server error, a
  broken or unreadable answer), waiting at least the provider's ``retry-after`` with
  exponential backoff, never past the deadline. An exhausted quota or a rejected request is
  not retried.
- **Tool**: its own short timeout (and pydantic-ai's ``tool_timeout`` as a backstop); a failed
  or incomplete catalogue answer stops the run with ``AdvisorError`` instead of letting the
  model answer without it.
- **Deadline**: one overall deadline, ``AdvisorError`` when it passes.

No planted bug.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRequestRejectedError,
)
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

MODEL = "gpt-4o-mini"
CATALOGUE_URL = "http://courses.zoo.test/v1/courses"
TERM = "2027-spring"
DEADLINE_S = 8.0
ATTEMPTS = 3
BACKOFF_S = 0.3
TOOL_TIMEOUT_S = 1.5
INSTRUCTIONS = (
    "You advise adults choosing an evening course at Zoo College. Always look courses up with "
    "search_courses; recommend exactly one course from its results, with its code, title, "
    "weekday, seats left and fee as listed, and one sentence on why it fits."
)


class AdvisorError(Exception):
    """No course can be recommended right now."""


class CoursePick(BaseModel):
    """The advisor's answer."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}-\d{3}$")
    title: str = Field(min_length=3)
    weekday: str = Field(pattern=r"^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)$")
    seats_left: int = Field(ge=1)
    fee_eur: float = Field(ge=0)
    reason: str = Field(min_length=1)


class Course(BaseModel):
    """One course as the catalogue lists it; every field is required, so a catalogue answer
    with a fact missing is refused rather than guessed at."""

    code: str
    title: str
    level: str
    weekday: str
    starts_at: str
    seats_left: int
    fee_eur: float


class Catalogue(BaseModel):
    term: str
    courses: list[Course]


@dataclass
class Deps:
    http: httpx.AsyncClient
    delivered: dict[str, Course] = field(default_factory=dict)


class _CatalogueDown(Exception):
    """The catalogue failed: ends the run (not a ModelRetry, so the model cannot answer
    without it)."""


agent = Agent(
    output_type=CoursePick,
    instructions=INSTRUCTIONS,
    deps_type=Deps,
    retries={"tools": 1, "output": 1},
    tool_timeout=TOOL_TIMEOUT_S * 2,
)


@agent.tool
async def search_courses(ctx: RunContext[Deps], topic: str, level: str) -> list[dict[str, Any]]:
    """Courses of the spring term on a topic, at a level (beginner, intermediate, advanced)."""
    try:
        response = await ctx.deps.http.get(
            CATALOGUE_URL,
            params={"term": TERM, "topic": topic, "level": level},
            timeout=TOOL_TIMEOUT_S,
        )
        response.raise_for_status()
        catalogue = Catalogue.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise _CatalogueDown(f"the course catalogue is unavailable: {type(exc).__name__}") from exc
    ctx.deps.delivered.update({c.code: c for c in catalogue.courses})
    return [c.model_dump() for c in catalogue.courses]


@agent.output_validator
def _as_listed(ctx: RunContext[Deps], pick: CoursePick) -> CoursePick:
    """The pick must be a course the catalogue delivered in this run, with its listed facts."""
    listed = ctx.deps.delivered.get(pick.code)
    if listed is None:
        raise ModelRetry(f"{pick.code} is not among the courses search_courses returned.")
    wrong = [
        name
        for name in ("title", "weekday", "seats_left", "fee_eur")
        if getattr(pick, name) != getattr(listed, name)
    ]
    if wrong:
        raise ModelRetry(f"{', '.join(wrong)} of {pick.code} differ from the catalogue.")
    return pick


def _transient(exc: Exception) -> bool:
    """Worth another attempt: a rate limit (not an exhausted quota), an overloaded or failing
    server, a broken connection, or an answer that could not be read (an HTML error page, a
    cut body). A request the provider rejected (4xx) would be rejected again."""
    if isinstance(exc, ModelQuotaExceededError | ModelRequestRejectedError):
        return False
    if isinstance(exc, ModelHTTPError) and exc.status_code < 500:
        return exc.status_code in (408, 409, 429)
    if isinstance(exc, ModelAPIError):
        return True
    return isinstance(exc, openai.APIConnectionError | openai.APIResponseValidationError)


def _pause_s(exc: Exception, attempt: int) -> float:
    asked = exc.retry_after if isinstance(exc, ModelAPIError) else None
    return max(BACKOFF_S * 2 ** (attempt - 1), asked or 0.0)


async def _run(request: str, http: httpx.AsyncClient, deadline: float) -> CoursePick:
    llm = openai.AsyncOpenAI(http_client=http, max_retries=0)
    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=llm))
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = await agent.run(request, model=model, deps=Deps(http))
            return result.output
        except _CatalogueDown as exc:
            raise AdvisorError(str(exc)) from exc
        except (ModelAPIError, openai.OpenAIError) as exc:
            if not _transient(exc):
                raise AdvisorError(f"the advisor is unavailable: {type(exc).__name__}") from exc
            failure: Exception = exc
        except AgentRunError as exc:
            # Output or tool calls still invalid after the re-ask, or another run failure: stop.
            raise AdvisorError(f"the advisor's answer is unusable: {exc}") from exc
        pause = _pause_s(failure, attempt)
        if attempt == ATTEMPTS or time.monotonic() + pause >= deadline:
            raise AdvisorError(f"the advisor is unavailable: {type(failure).__name__}") from failure
        await asyncio.sleep(pause)
    raise AssertionError("unreachable")


async def answer(
    request: str,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Recommend one course as a ``CoursePick`` dict, or raise AdvisorError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                pick = await _run(request, http, time.monotonic() + DEADLINE_S)
        except TimeoutError as exc:
            raise AdvisorError("no recommendation in time") from exc
        return pick.model_dump()
