"""The bundled cassettes: valid vcrpy files, real wire shapes the SDKs parse, and no secrets."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SUPPORT = REPO / "cassettes" / "support"
CASSETTES = sorted((REPO / "cassettes").rglob("*.yaml"))
ORDER_URL = "http://orders.internal/orders/1234"
SECRET_HEADERS = {
    "authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "openai-organization",
    "openai-project",
    "anthropic-organization-id",
}


def interactions(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


def replay_transport(path: Path) -> httpx2.MockTransport:
    """Serve a cassette the way vcrpy does by default: match method + URL, each answer once,
    first in first out. Kept here so the SDK tests do not depend on faultkit's own store."""
    queues: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
    for item in interactions(path):
        request = item["request"]
        queues[(request["method"], request["uri"])].append(item["response"])

    def handler(request: httpx2.Request) -> httpx2.Response:
        url = str(request.url).split("?")[0]
        response = queues[(request.method, url)].popleft()
        headers = [
            (name, value)
            for name, values in response["headers"].items()
            if name.lower() not in {"content-length", "transfer-encoding"}
            for value in values
        ]
        return httpx2.Response(
            response["status"]["code"],
            headers=headers,
            content=response["body"]["string"].encode(),
        )

    return httpx2.MockTransport(handler)


# -- format -------------------------------------------------------------------------------


def test_there_are_cassettes() -> None:
    names = {p.name for p in CASSETTES}
    assert {
        "openai_order_status.yaml",
        "openai_order_status_stream.yaml",
        "anthropic_order_status.yaml",
        "anthropic_order_status_stream.yaml",
        "orders.yaml",
    } <= names


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_vcrpy_loads_the_cassette(path: Path) -> None:
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    requests, responses = deserialize(path.read_text(encoding="utf-8"), yamlserializer)[:2]
    assert requests and len(requests) == len(responses)
    for response in responses:
        assert isinstance(response["body"]["string"], bytes)
        assert set(response["status"]) == {"code", "message"}


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_cassette_is_consistent_and_secret_free(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    for item in data["interactions"]:
        request, response = item["request"], item["response"]
        for side in (request, response):
            names = {name.lower() for name in side["headers"]}
            assert not names & SECRET_HEADERS, f"{path.name}: {names & SECRET_HEADERS}"
            assert all(isinstance(v, list) for v in side["headers"].values())
        body = (request["body"] or "").encode()
        if "content-length" in request["headers"]:
            assert request["headers"]["content-length"] == [str(len(body))]
        payload = response["body"]["string"].encode()
        if "content-length" in response["headers"]:
            assert response["headers"]["content-length"] == [str(len(payload))]
            assert "transfer-encoding" not in response["headers"]


def test_vcrpy_replays_through_httpx() -> None:
    vcr = pytest.importorskip("vcr")
    with (
        vcr.use_cassette(str(SUPPORT / "orders.yaml"), record_mode="none"),
        httpx.Client() as client,
    ):
        found = client.get(ORDER_URL)
        missing = client.get("http://orders.internal/orders/9999")
    assert found.status_code == 200
    assert found.json()["eta"] == "2026-03-14"
    assert missing.status_code == 404
    assert missing.json()["error"] == "order_not_found"


# -- the SDKs parse the recorded answers ---------------------------------------------------


def order() -> dict[str, Any]:
    with httpx2.Client(transport=replay_transport(SUPPORT / "orders.yaml")) as client:
        return client.get(ORDER_URL).json()


def check_answer(text: str, tool_data: dict[str, Any]) -> None:
    answer = json.loads(text)
    assert set(answer) == {"order_id", "status", "eta", "reply"}
    # Every fact in the recorded answer comes from the tool: the partial-data oracle relies on it.
    assert answer["order_id"] == tool_data["id"]
    assert answer["status"] == tool_data["status"]
    assert answer["eta"] == tool_data["eta"]


def openai_client(path: Path):  # type: ignore[no-untyped-def]
    openai = pytest.importorskip("openai")
    http = httpx2.Client(transport=replay_transport(path))
    return openai.OpenAI(api_key="sk-test", http_client=http, max_retries=0)


def recorded_request(path: Path, index: int) -> dict[str, Any]:
    return json.loads(interactions(path)[index]["request"]["body"])


def test_openai_sdk_runs_the_support_conversation() -> None:
    path = SUPPORT / "openai_order_status.yaml"
    client = openai_client(path)
    first_request = recorded_request(path, 0)
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=first_request["messages"], tools=first_request["tools"]
    )
    (call,) = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_order"
    assert json.loads(call.function.arguments) == {"order_id": "1234"}
    tool_data = client._client.get(ORDER_URL).json()
    assert tool_data == order()
    second_request = recorded_request(path, 2)
    assert second_request["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call.id,
        "content": json.dumps(tool_data, separators=(",", ":")),
    }
    final = client.chat.completions.create(model="gpt-4o-mini", messages=second_request["messages"])
    assert final.choices[0].finish_reason == "stop"
    check_answer(final.choices[0].message.content, tool_data)


def test_openai_sdk_streams_the_support_conversation() -> None:
    path = SUPPORT / "openai_order_status_stream.yaml"
    client = openai_client(path)
    args, names, finish, usage = "", [], None, None
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True):
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                names += [call.function.name] if call.function.name else []
                args += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert (names, json.loads(args), finish) == (["get_order"], {"order_id": "1234"}, "tool_calls")
    assert usage is not None and usage.total_tokens > 0
    tool_data = client._client.get(ORDER_URL).json()
    text = ""
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
    check_answer(text, tool_data)
    assert (SUPPORT / "openai_order_status_stream.yaml").read_text().count("data: [DONE]") == 2


def anthropic_client(path: Path):  # type: ignore[no-untyped-def]
    anthropic = pytest.importorskip("anthropic")
    http = httpx2.Client(transport=replay_transport(path))
    return anthropic.Anthropic(api_key="sk-ant-test", http_client=http, max_retries=0)


def test_anthropic_sdk_runs_the_support_conversation() -> None:
    path = SUPPORT / "anthropic_order_status.yaml"
    client = anthropic_client(path)
    request = recorded_request(path, 0)
    first = client.messages.create(
        model=request["model"], max_tokens=1024, messages=request["messages"]
    )
    (block,) = first.content
    assert (first.stop_reason, block.type, block.name) == ("tool_use", "tool_use", "get_order")
    assert block.input == {"order_id": "1234"}
    tool_data = client._client.get(ORDER_URL).json()
    second = recorded_request(path, 2)["messages"][-1]["content"][0]
    assert (second["type"], second["tool_use_id"]) == ("tool_result", block.id)
    final = client.messages.create(model=request["model"], max_tokens=1024, messages=[])
    assert final.stop_reason == "end_turn"
    check_answer(final.content[0].text, tool_data)


def test_anthropic_sdk_streams_the_support_conversation() -> None:
    path = SUPPORT / "anthropic_order_status_stream.yaml"
    client = anthropic_client(path)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=1024, messages=[]) as s:
        first = s.get_final_message()
    (block,) = first.content
    assert (first.stop_reason, block.name, block.input) == (
        "tool_use",
        "get_order",
        {"order_id": "1234"},
    )
    tool_data = client._client.get(ORDER_URL).json()
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=1024, messages=[]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert final.stop_reason == "end_turn"
    check_answer(text, tool_data)
