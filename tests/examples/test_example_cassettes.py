"""The cassettes the example apps replay are real wire formats and one consistent conversation.

``openai_order_status_stream_fallback.yaml`` (the fallback model's conversation) was derived
from the primary one; these checks hold it to the same shape: a vcrpy cassette whose bodies
match their ``content-length``, OpenAI chat-completion chunks ending in ``data: [DONE]``, a
tool call whose id the next request echoes, and a final answer valid against the schema the
request asked for.
"""

from __future__ import annotations

import json

import pytest
import yaml

from examples.support_assistant import protocol
from examples.support_assistant.models import SupportAnswer
from faultkit.cassettes import load_cassette
from faultkit.formats.sse import parse_events
from faultkit.runner import bundled

CASSETTES = bundled.examples_root().parent / "cassettes" / "support"
if not CASSETTES.is_dir():  # a wheel keeps them beside the examples
    CASSETTES = bundled.examples_root() / "cassettes" / "support"
CONVERSATIONS = {
    "openai_order_status_stream.yaml": ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    "openai_order_status_stream_fallback.yaml": ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
}


def _chunks(body: bytes) -> list[dict]:
    events = parse_events(body)
    assert events[-1].data == "[DONE]"
    return [json.loads(e.data) for e in events[:-1]]


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_conversation_is_a_consistent_openai_stream(name: str) -> None:
    requested, answered = CONVERSATIONS[name]
    path = CASSETTES / name
    assert yaml.safe_load(path.read_text())["version"] == 1
    first, tool, final = load_cassette(path).interactions

    for interaction in (first, final):
        request = interaction.request
        assert request.header("content-length") == str(len(request.body))
        body = json.loads(request.body)
        assert body["model"] == requested
        assert body["stream"] is True
        assert body["tools"] == protocol.TOOLS
        assert body["response_format"] == protocol.RESPONSE_FORMAT
        assert interaction.response.is_sse
        chunks = _chunks(interaction.response.body)
        assert {c["model"] for c in chunks} == {answered}
        assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
        assert len({c["id"] for c in chunks}) == 1
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0

    calls = [
        part
        for chunk in _chunks(first.response.body)
        for choice in chunk["choices"]
        for part in choice["delta"].get("tool_calls") or []
    ]
    call_id = calls[0]["id"]
    arguments = "".join(p["function"]["arguments"] for p in calls)
    assert json.loads(arguments) == {"order_id": "1234"}
    assert tool.request.url == "http://orders.internal/orders/1234"

    echoed = json.loads(final.request.body)["messages"]
    assert echoed[2]["tool_calls"][0]["id"] == call_id
    assert echoed[2]["tool_calls"][0]["function"]["arguments"] == arguments
    assert echoed[3] == {
        "role": "tool",
        "tool_call_id": call_id,
        "content": tool.response.body.decode(),
    }

    content = "".join(
        choice["delta"].get("content") or ""
        for chunk in _chunks(final.response.body)
        for choice in chunk["choices"]
    )
    answer = SupportAnswer.model_validate_json(content)
    assert (answer.order_id, answer.status, answer.eta) == ("1234", "shipped", "2026-03-14")


def test_the_fallback_conversation_has_its_own_ids() -> None:
    def ids(name: str) -> set[str]:
        text = (CASSETTES / name).read_text()
        return {
            token
            for token in text.replace('"', " ").split()
            if token.startswith(("chatcmpl-", "call_", "req_"))
        }

    assert ids("openai_order_status_stream.yaml").isdisjoint(
        ids("openai_order_status_stream_fallback.yaml")
    )
