"""The README "Frameworks" recipes as code: one support-ticket triage per framework.

Each function is what an app on that framework writes, with the one change faultkit needs: the
HTTP client (or, for dspy, the base URL) comes in as a parameter, so a test hands in faultkit's
client and production hands in nothing (the framework's default). ``record.py`` runs the same
functions against a scripted upstream to record the cassettes, so the recorded requests are
exactly what each framework sends.

Frameworks that are not installed are imported inside their function, so this module imports
with any subset of them (the clashing ones live in the ``frameworks-extra`` extra).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

import httpx
import httpx2
from pydantic import BaseModel, Field

MODEL = "gpt-4o-mini"
TICKET = "I was charged twice for order 5512 this morning. Please refund one of the payments."
INSTRUCTIONS = "Triage the customer's support ticket: its category and a priority from 1 to 3."


class Triage(BaseModel):
    """The structured answer every recipe asks for."""

    category: Literal["billing", "shipping", "account", "other"]
    priority: int = Field(ge=1, le=3)


# -- in the dev extra ---------------------------------------------------------------------------


async def pydantic_ai_triage(
    ticket: str, *, http_client_factory: Any = httpx2.AsyncClient
) -> dict[str, Any]:
    """pydantic-ai: ``OpenAIProvider(http_client=...)`` takes an ``httpx2.AsyncClient`` (an
    ``httpx.AsyncClient`` still works, deprecated in pydantic-ai 2.x). An
    invalid structured answer is re-asked once (``retries={"output": 1}``)."""
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(http_client=http_client_factory(timeout=10))
    agent = Agent(
        OpenAIChatModel(MODEL, provider=provider),
        output_type=Triage,
        instructions=INSTRUCTIONS,
        retries={"output": 1},
    )
    result = await agent.run(ticket)
    return result.output.model_dump()


def pydantic_ai_triage_sync(
    ticket: str, *, http_client_factory: Any = httpx2.AsyncClient
) -> dict[str, Any]:
    """A sync app on pydantic-ai: the framework is async inside (``agent.run_sync`` would do
    the same), so the sync target still takes async clients, and says so in its default."""
    return asyncio.run(pydantic_ai_triage(ticket, http_client_factory=http_client_factory))


def langchain_triage(
    ticket: str,
    *,
    http_client: httpx.Client | None = None,
    http_async_client: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """langchain-openai: ``ChatOpenAI(http_client=..., http_async_client=...)``; the sync
    client serves ``invoke``, the async one ``ainvoke``. The SDK retries twice."""
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model=MODEL, http_client=http_client, http_async_client=http_async_client, max_retries=2
    )
    triage = llm.with_structured_output(Triage, method="json_schema")
    answer = triage.invoke([("system", INSTRUCTIONS), ("user", ticket)])
    assert isinstance(answer, Triage)
    return answer.model_dump()


def langchain_triage_sync_and_async(
    ticket: str, *, http_client: httpx.Client, http_client_factory: Any = httpx.AsyncClient
) -> list[dict[str, Any]]:
    """A sync app that uses ``ChatOpenAI`` both ways (``invoke``, then ``ainvoke``): under
    ``faultkit run`` each seam parameter gets the client it names, a sync one and an async
    factory, so both of langchain's clients go through faultkit."""
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model=MODEL,
        http_client=http_client,
        http_async_client=http_client_factory(timeout=10),
        max_retries=2,
    )
    triage = llm.with_structured_output(Triage, method="json_schema")
    messages = [("system", INSTRUCTIONS), ("user", ticket)]
    answers = [triage.invoke(messages), asyncio.run(triage.ainvoke(messages))]
    return [answer.model_dump() for answer in answers if isinstance(answer, Triage)]


def litellm_triage(ticket: str, *, http_client: httpx.Client | None = None) -> str:
    """litellm: ``completion(client=openai.OpenAI(http_client=...))``. The model price list
    download at import is switched off with ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (set before
    ``import litellm``)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    import openai

    client = openai.OpenAI(http_client=http_client, max_retries=2)
    response = litellm.completion(
        model=f"openai/{MODEL}",
        messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": ticket}],
        client=client,
    )
    return str(response.choices[0].message.content)


def dspy_triage(ticket: str, *, api_base: str) -> dict[str, Any]:
    """dspy: no client seam; point ``dspy.LM(api_base=...)`` at faultkit's proxy door and
    switch dspy's cache off (``cache=False``), or a cached answer never reaches faultkit.
    dspy 3 fetches litellm's price list for its model metadata on first use unless
    ``LITELLM_LOCAL_MODEL_COST_MAP=True``."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import dspy

    class TicketTriage(dspy.Signature):
        """Triage the customer's support ticket: its category and a priority from 1 to 3."""

        ticket: str = dspy.InputField()
        category: Literal["billing", "shipping", "account", "other"] = dspy.OutputField()
        priority: int = dspy.OutputField()

    lm = dspy.LM(f"openai/{MODEL}", api_base=api_base, cache=False, num_retries=2)
    with dspy.context(lm=lm):
        prediction = dspy.Predict(TicketTriage)(ticket=ticket)
    return Triage(category=prediction.category, priority=prediction.priority).model_dump()


async def agents_triage(
    ticket: str, *, http_client_factory: Any = httpx.AsyncClient
) -> dict[str, Any]:
    """OpenAI Agents SDK: ``OpenAIChatCompletionsModel(openai_client=AsyncOpenAI(http_client=
    ...))``; trace export (to OpenAI's servers, past faultkit) off with
    ``set_tracing_disabled(True)``."""
    import openai
    from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled

    set_tracing_disabled(True)
    client = openai.AsyncOpenAI(http_client=http_client_factory(timeout=10), max_retries=2)
    agent = Agent(
        name="triage",
        instructions=INSTRUCTIONS,
        output_type=Triage,
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
    )
    result = await Runner.run(agent, ticket)
    return result.final_output.model_dump()


# -- in the frameworks-extra extra ----------------------------------------------------------------


def instructor_triage(ticket: str, *, http_client: httpx.Client | None = None) -> dict[str, Any]:
    """instructor: ``instructor.from_openai(OpenAI(http_client=...))``; instructor re-asks
    (``max_retries=2``) when the answer fails the response model."""
    import instructor
    import openai

    client = instructor.from_openai(openai.OpenAI(http_client=http_client, max_retries=0))
    triage = client.chat.completions.create(
        model=MODEL,
        response_model=Triage,
        max_retries=2,
        messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": ticket}],
    )
    return triage.model_dump()


def llama_index_triage(ticket: str, *, http_client: httpx.Client | None = None) -> str:
    """llama-index: ``llama_index.llms.openai.OpenAI(http_client=..., async_http_client=...)``."""
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model=MODEL, http_client=http_client, max_retries=2)
    reply = llm.chat(
        [ChatMessage(role="system", content=INSTRUCTIONS), ChatMessage(role="user", content=ticket)]
    )
    return str(reply.message.content)
