"""Recipe finder: "something vegetarian in under 30 minutes?" answered from the recipe index.

OpenAI Chat Completions: the model asks for ``search_recipes`` in a plain (non-streamed) call,
the app queries the recipe index (``http://recipes.zoo.test``), and the model's suggestion is
streamed, as chat UIs do, so the user sees it arrive. The recipe's title and cooking time come
from the index.

What it gets right: SDK retries off and an explicit ``RecipeError`` on any provider or index
failure; one deadline for the whole question; the tool call's name and arguments are checked;
the index's answer is validated and must hold a match.

PLANTED BUG (accepts a cut stream): the streamed suggestion is returned with whatever text had
arrived when the stream ended, whether or not it finished (no ``finish_reason``, no
``[DONE]``, or the connection dropped mid-way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL = "gpt-4o"
SEARCH_URL = "http://recipes.zoo.test/v1/recipes/search"
DEADLINE_S = 5.5
SYSTEM = (
    "You suggest one recipe from the Zoo recipe index. Search with search_recipes first, then "
    "recommend the best match in a short, warm paragraph."
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_recipes",
            "description": "Search the recipe index.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "diet": {"type": "string", "enum": ["any", "vegetarian", "vegan"]},
                    "max_minutes": {"type": "integer"},
                },
                "required": ["query", "diet", "max_minutes"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]


class RecipeError(Exception):
    """No recipe can be suggested right now."""


class Recipe(BaseModel):
    id: str
    title: str
    minutes: int
    diet: str


class SearchResult(BaseModel):
    results: list[Recipe] = Field(min_length=1)


class Suggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipe_id: str
    title: str
    minutes: int
    reply: str = Field(min_length=1)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    diet: str
    max_minutes: int = Field(gt=0)


async def _search(http: httpx.AsyncClient, args: _Args) -> Recipe:
    try:
        response = await http.get(SEARCH_URL, params=args.model_dump(), timeout=1.5)
        response.raise_for_status()
        return SearchResult.model_validate_json(response.content).results[0]
    except (httpx.HTTPError, ValidationError) as exc:
        raise RecipeError("the recipe index is unavailable") from exc


async def _suggest(llm: openai.AsyncOpenAI, messages: list[dict[str, Any]]) -> str:
    text: list[str] = []
    try:
        stream = await llm.chat.completions.create(
            model=MODEL, messages=messages, tools=TOOLS, stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                text.append(chunk.choices[0].delta.content)
    except (openai.APIConnectionError, httpx.TransportError):
        # BUG: the text so far is kept as if the stream had finished.
        pass
    # BUG: no check that a finish_reason arrived.
    return "".join(text).strip()


async def _answer(question: str, http: httpx.AsyncClient) -> Suggestion:
    llm = openai.AsyncOpenAI(http_client=http, max_retries=0)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question},
    ]
    first = await llm.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    if not isinstance(first, ChatCompletion) or not first.choices:
        raise RecipeError("the assistant sent an unreadable answer")
    message = first.choices[0].message
    calls = message.tool_calls or []
    if first.choices[0].finish_reason != "tool_calls" or len(calls) != 1:
        raise RecipeError("the assistant did not search the recipes")
    call = calls[0]
    if call.type != "function" or call.function.name != "search_recipes":
        raise RecipeError("the assistant asked for an unknown tool")
    try:
        args = _Args.model_validate_json(call.function.arguments)
    except ValidationError as exc:
        raise RecipeError("the assistant sent unreadable search arguments") from exc
    recipe = await _search(http, args)
    messages.append(
        message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"})
    )
    messages.append({"role": "tool", "tool_call_id": call.id, "content": recipe.model_dump_json()})
    reply = await _suggest(llm, messages)
    if not reply:
        raise RecipeError("the assistant gave no suggestion")
    return Suggestion(recipe_id=recipe.id, title=recipe.title, minutes=recipe.minutes, reply=reply)


async def answer(
    question: str,
    *,
    http_client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
) -> dict[str, Any]:
    """Suggest a recipe as a ``Suggestion`` dict, or raise RecipeError."""
    async with http_client_factory() as http:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return (await _answer(question, http)).model_dump()
        except TimeoutError as exc:
            raise RecipeError("no suggestion in time") from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            raise RecipeError(f"the assistant is unavailable: {type(exc).__name__}") from exc
