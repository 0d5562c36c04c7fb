"""The naive support assistant: the same conversation as :mod:`.robust`, written the way a
first version usually is. It works on a good day, and it is what faultkit's matrix is for.

What it does not do (each is a verdict in ``faultkit run``):

* no deadline of its own, and the SDK's defaults (600 s read timeout, reset by keep-alive
  comments; the SDK's retries, even on an exhausted quota) -> ``hang``, ``crash``;
* no check that a stream finished or that the tool call's arguments parse -> ``crash``;
* no validation of the answer against ``SupportAnswer`` -> ``invalid_output_leaked``;
* no check of the answer against what the tool returned -> ``unknown_as_known``;
* a failed order lookup is papered over and the conversation goes on -> ``silent_tool_failure``;
* no decision trace -> ``untraceable``.

The seam is the same as the robust app's: ``http_client_factory`` builds its HTTP clients
(default: the SDK's own client and ``httpx.Client()``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import openai

from examples.support_assistant import protocol

ClientFactory = Callable[..., httpx.Client]


def answer(question: str, *, http_client_factory: ClientFactory | None = None) -> dict[str, Any]:
    """Ask the model, call the tool it asks for, ask again, return the JSON it answers."""
    llm = openai.OpenAI(http_client=http_client_factory() if http_client_factory else None)
    orders = http_client_factory() if http_client_factory else httpx.Client()

    messages = protocol.first_messages(question)
    turn = _turn(llm, protocol.PRIMARY_MODEL, messages)
    call = turn.calls[0]
    args = json.loads(call.arguments)
    try:
        response = orders.get(f"{protocol.ORDERS_URL}/orders/{args['order_id']}")
        order = response.text
    except httpx.HTTPError:
        order = '{"error": "order lookup failed"}'

    messages += protocol.tool_turn(call.id, call.name, call.arguments, order)
    final = _turn(llm, protocol.PRIMARY_MODEL, messages)
    return json.loads(final.content)


def _turn(llm: openai.OpenAI, model: str, messages: list[dict[str, Any]]) -> protocol.Turn:
    turn = protocol.Turn(model=model)
    for chunk in llm.chat.completions.create(**protocol.request(model, messages)):
        turn.add(chunk)
    return turn
