"""Electricity tariff advisor on langchain-openai: "which tariff suits 3200 kWh a year?".

The app asks the utility's tariff service (``http://energy.zoo.test``) for the tariffs on offer
at the customer's postcode and their yearly cost at the customer's usage, then has a
langchain chain (prompt | ``ChatOpenAI`` on the OpenAI Responses API, with
``with_structured_output`` and a strict JSON schema) pick one. The answer is the model's
structured ``TariffAdvice``, validated by langchain against the pydantic model.

What it gets right: one overall deadline; a short timeout on the tariff service and a strict
model of its answer; the SDK's own retries off and langchain's ``with_retry`` only for server
errors and broken connections (a rate limit, an exhausted quota, a rejected request or an
unreadable answer is not retried), with backoff; the advice must name a tariff the service
offered, at the cost the service computed; every failure is a ``TariffError``.

PLANTED BUG (unbounded retries): ``with_retry`` is told to keep going "until the provider is
back" (``stop_after_attempt`` of 10 000), so an overloaded provider is asked again and again,
a few hundred milliseconds apart, for as long as the deadline lasts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import openai
from langchain_core.exceptions import OutputParserException
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4.1-mini"
TARIFFS_URL = "http://energy.zoo.test/v1/tariffs"
DEADLINE_S = 8.0
# tenacity's wait_exponential_jitter parameters (its 'initial' is deprecated for 'multiplier').
BACKOFF: Any = {"multiplier": 0.2, "max": 0.5, "jitter": 0.05}
PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You advise households of Zoo Energy on their electricity tariff. Recommend exactly "
            "one of the tariffs listed, with its id, name and yearly cost as listed, and say in "
            "one sentence why it suits the customer.",
        ),
        ("human", "{question}\n\nTariffs at {annual_kwh} kWh a year: {tariffs}"),
    ]
)


class TariffError(Exception):
    """No tariff advice can be given right now."""


class TariffAdvice(BaseModel):
    """The advisor's answer."""

    model_config = ConfigDict(extra="forbid")

    tariff_id: str = Field(pattern=r"^EN-[A-Z0-9-]+$")
    name: str = Field(min_length=3)
    yearly_cost_eur: float = Field(gt=0)
    reason: str = Field(min_length=1)


class Tariff(BaseModel):
    tariff_id: str
    name: str
    unit_eur_kwh: float
    standing_eur_day: float
    yearly_cost_eur: float


class Offer(BaseModel):
    postcode: str
    annual_kwh: int
    tariffs: list[Tariff] = Field(min_length=1)


async def _offer(http: httpx.AsyncClient, postcode: str, annual_kwh: int) -> Offer:
    try:
        response = await http.get(
            TARIFFS_URL, params={"postcode": postcode, "kwh": annual_kwh}, timeout=1.5
        )
        response.raise_for_status()
        return Offer.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise TariffError(f"the tariff service is unavailable: {type(exc).__name__}") from exc


def _chain(http: httpx.AsyncClient) -> Any:
    llm = ChatOpenAI(
        model=MODEL,
        temperature=0,
        use_responses_api=True,
        http_async_client=http,
        max_retries=0,
    )
    advisor = PROMPT | llm.with_structured_output(TariffAdvice, method="json_schema", strict=True)
    return advisor.with_retry(
        retry_if_exception_type=(openai.InternalServerError, openai.APIConnectionError),
        # BUG: no real bound; "keep trying until the provider is back".
        stop_after_attempt=10_000,
        wait_exponential_jitter=True,
        exponential_jitter_params=BACKOFF,
    )


def _checked(advice: Any, offer: Offer) -> TariffAdvice:
    if not isinstance(advice, TariffAdvice):
        raise TariffError("the advisor gave no structured advice")
    listed = {t.tariff_id: t for t in offer.tariffs}.get(advice.tariff_id)
    if listed is None:
        raise TariffError("the advisor recommended a tariff that is not on offer")
    if abs(listed.yearly_cost_eur - advice.yearly_cost_eur) > 0.01:
        raise TariffError("the advisor's yearly cost differs from the tariff service's")
    return advice


async def answer(
    question: str,
    postcode: str,
    annual_kwh: int,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Recommend one tariff as a ``TariffAdvice`` dict, or raise TariffError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                offer = await _offer(http, postcode, annual_kwh)
                advice = await _advise(_chain(http), question, offer)
        except TimeoutError as exc:
            raise TariffError("no advice in time") from exc
        return _checked(advice, offer).model_dump()


async def _advise(chain: Any, question: str, offer: Offer) -> Any:
    """Run the chain; any failure in it is the advisor being unavailable. Caught broadly on
    purpose: besides the SDK's errors and langchain's parse errors, langchain-openai fails
    with an ``AttributeError`` on a 200 answer that is not JSON (a gateway's HTML page)."""
    tariffs = [t.model_dump() for t in offer.tariffs]
    try:
        return await chain.ainvoke(
            {"question": question, "annual_kwh": offer.annual_kwh, "tariffs": tariffs}
        )
    except (openai.OpenAIError, OutputParserException, ValidationError) as exc:
        raise TariffError(f"the advisor is unavailable: {type(exc).__name__}") from exc
    except Exception as exc:
        raise TariffError(f"the advisor failed: {type(exc).__name__}: {exc}") from exc
