"""The official openai and anthropic SDKs against a real ``faultkit proxy`` process."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import anthropic
import openai
import pytest
import yaml
from proxy_process import SUPPORT_CASSETTES, ProxyFactory


def recorded_body(name: str, index: int) -> dict:
    data = yaml.safe_load((SUPPORT_CASSETTES / name).read_text())
    return json.loads(data["interactions"][index]["request"]["body"])


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """One proxy for the module; each test isolates itself with its own session."""
    factory = ProxyFactory(tmp_path_factory.mktemp("sdk"))
    yield factory("--cassettes", str(SUPPORT_CASSETTES))
    factory.close()


@pytest.fixture
def session() -> str:
    return uuid.uuid4().hex


def openai_client(base_url: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url, api_key="sk-test", max_retries=2, timeout=10, default_headers=headers
    )


def anthropic_client(base_url: str, **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=base_url,
        api_key="sk-ant-test",
        max_retries=2,
        timeout=10,
        default_headers=headers,
    )


def test_openai_sdk_gets_the_recorded_tool_call(replay, session) -> None:
    client = openai_client(replay.door("openai"), **{"x-faultkit-session": session})
    completion = client.chat.completions.create(**recorded_body("openai_order_status.yaml", 0))
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_order"
    assert json.loads(call.function.arguments) == {"order_id": "1234"}
    [entry] = replay.ledger(session=session)
    assert entry["recording"].endswith("openai_order_status.yaml#0")
    assert entry["route"] == "openai"
    assert entry["ending"] == "completed"


def test_openai_sdk_streams_the_recorded_events(replay, session) -> None:
    client = openai_client(replay.door("openai"), **{"x-faultkit-session": session})
    body = recorded_body("openai_order_status_stream.yaml", 0)
    arguments = ""
    chunks = 0
    for chunk in client.chat.completions.create(**body):
        chunks += 1
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                arguments += call.function.arguments or ""
    assert json.loads(arguments) == {"order_id": "1234"}
    assert chunks > 3
    [entry] = replay.ledger(session=session)
    assert entry["format"] == "openai_chat"
    assert entry["ending"] == "completed"
    assert entry["bytes_sent"] > 0


def test_anthropic_sdk_gets_the_recorded_message(replay) -> None:
    client = anthropic_client(replay.door("anthropic"))
    message = client.messages.create(**recorded_body("anthropic_order_status.yaml", 0))
    tool_use = [b for b in message.content if b.type == "tool_use"]
    assert tool_use and tool_use[0].input == {"order_id": "1234"}


def test_anthropic_sdk_streams_the_recorded_events(replay) -> None:
    client = anthropic_client(replay.door("anthropic"))
    body = recorded_body("anthropic_order_status_stream.yaml", 0)
    body.pop("stream", None)
    with client.messages.stream(**body) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert "content_block_delta" in kinds
    assert any(b.type == "tool_use" and b.input == {"order_id": "1234"} for b in final.content)


def test_openai_429_burst_is_retried_by_the_sdk_and_ledgered_as_attempts(replay, session) -> None:
    client = openai_client(
        replay.door("openai"),
        **{
            "x-faultkit-session": session,
            "x-faultkit-fault": "type=http_error;status=429;retry_after_ms=10",
        },
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(**recorded_body("openai_order_status.yaml", 0))
    assert caught.value.status_code == 429
    entries = replay.ledger(session=session)
    assert [e["attempt"] for e in entries] == [1, 2, 3]
    assert {e["logical_call"] for e in entries} == {1}
    assert [e["status"] for e in entries] == [429, 429, 429]
    assert all(e["faults"][0]["type"] == "http_error" for e in entries)
    # No other session's requests are in this session's ledger.
    assert all(e["context"]["session"] == session for e in entries)


def test_anthropic_529_then_success_is_three_attempts(replay, session) -> None:
    rule = {
        "fault": {"type": "http_error", "status": 529, "retry_after_ms": 10},
        "when": {"calls": "1-2"},
    }
    client = anthropic_client(
        replay.door("anthropic"),
        **{"x-faultkit-session": session, "x-faultkit-fault": json.dumps(rule)},
    )
    message = client.messages.create(**recorded_body("anthropic_order_status.yaml", 0))
    assert any(b.type == "tool_use" for b in message.content)
    entries = replay.ledger(session=session)
    assert [(e["attempt"], e["status"]) for e in entries] == [(1, 529), (2, 529), (3, 200)]
    assert entries[2]["recording"].endswith("anthropic_order_status.yaml#0")


def test_anthropic_overload_exhausts_retries_into_the_sdk_error(replay, session) -> None:
    client = anthropic_client(
        replay.door("anthropic"),
        **{
            "x-faultkit-session": session,
            "x-faultkit-fault": "type=http_error;status=529;retry_after_ms=10",
        },
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**recorded_body("anthropic_order_status.yaml", 0))
    assert caught.value.status_code == 529
    assert len(replay.ledger(session=session)) == 3


def test_anthropic_429_carries_absolute_rate_limit_resets(replay, session) -> None:
    """Anthropic states its resets as RFC 3339 times: the proxy gives them from the wall
    clock at the request's arrival, the retry-after later for the exhausted limits."""
    client = anthropic_client(
        replay.door("anthropic"),
        **{
            "x-faultkit-session": session,
            "x-faultkit-fault": "type=http_error;status=429;retry_after_s=30",
        },
    ).with_options(max_retries=0)
    before = time.time()
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**recorded_body("anthropic_order_status.yaml", 0))
    headers = caught.value.response.headers
    assert headers["retry-after"] == "30"
    for limit in ("requests", "tokens", "input-tokens", "output-tokens"):
        reset = datetime.strptime(
            headers[f"anthropic-ratelimit-{limit}-reset"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=UTC)
        assert before - 1 <= reset.timestamp() <= time.time() + 31
    exhausted = datetime.strptime(
        headers["anthropic-ratelimit-tokens-reset"], "%Y-%m-%dT%H:%M:%SZ"
    ).replace(tzinfo=UTC)
    assert exhausted.timestamp() >= before + 29


def test_catalogue_scenario_selected_by_header(replay, session) -> None:
    client = openai_client(
        replay.door("openai"),
        **{"x-faultkit-session": session, "x-faultkit-scenario": "529-overload"},
    )
    client = client.with_options(max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(**recorded_body("openai_order_status.yaml", 0))
    assert caught.value.status_code == 503
    [entry] = replay.ledger(session=session)
    assert entry["faults"][0]["rule"] == "openai-overloaded"
    assert entry["context"]["scenario"] == "529-overload"


def test_concurrent_sessions_do_not_share_fault_counters(replay) -> None:
    """Each session's own first call is faulted, whatever the other sessions do."""
    rule = json.dumps({"fault": {"type": "http_error", "status": 500}, "when": {"nth": 1}})
    body = recorded_body("openai_order_status.yaml", 0)

    def run(session: str) -> list[int]:
        client = openai_client(
            replay.door("openai"),
            **{"x-faultkit-session": session, "x-faultkit-fault": rule},
        ).with_options(max_retries=0)
        statuses = []
        for _ in range(3):
            try:
                client.chat.completions.create(**body)
                statuses.append(200)
            except openai.APIStatusError as exc:
                statuses.append(exc.status_code)
        return statuses

    sessions = [f"worker-{i}-{uuid.uuid4().hex}" for i in range(6)]
    with ThreadPoolExecutor(len(sessions)) as pool:
        results = list(pool.map(run, sessions))
    assert results == [[500, 200, 200]] * len(sessions)
    assert [len(replay.ledger(session=s)) for s in sessions] == [3] * len(sessions)
