"""Every real recording in tests/cassettes-real loads and replays through the store."""

from __future__ import annotations

import json

import pytest
from _cassette_helpers import REAL_DIR, REAL_FILES

from faultkit.cassettes import CassetteStore, load_cassette
from faultkit.engine import Engine
from faultkit.formats.sse import parse_events


def test_the_real_corpus_is_there() -> None:
    assert len(REAL_FILES) >= 16


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "match_on", [("method", "uri"), ("method", "path", "body")], ids=["uri", "path+body"]
)
def test_each_recording_replays_for_its_own_request(path, match_on) -> None:
    cassette = load_cassette(path)
    assert cassette.interactions
    store = CassetteStore([path], match_on=match_on)
    for interaction in cassette.interactions:
        got = store.match(interaction.request)
        assert got.source == f"{path}#{interaction.index}"
        assert got.response.body == interaction.response.body
    assert store.unused() == []


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_bodies_are_plain_json_or_sse(path) -> None:
    for interaction in load_cassette(path).interactions:
        response = interaction.response
        assert response.head.header("content-encoding") is None
        if response.is_sse:
            events = parse_events(response.body)
            assert any(e.json() is not None for e in events)
        else:
            assert isinstance(json.loads(response.body), dict)
        length = response.head.header("content-length")
        assert length is None or int(length) == len(response.body)


def test_gzip_binary_json_is_decoded() -> None:
    cassette = load_cassette(REAL_DIR / "llm__test_tool_use_chain_of_two_calls.yaml")
    first = cassette.interactions[0].response
    assert json.loads(first.body)["object"] == "chat.completion"
    assert [i.request.json_body["model"] for i in cassette.interactions] == ["gpt-4o-mini"] * 3


def test_gzip_binary_sse_is_decoded() -> None:
    cassette = load_cassette(REAL_DIR / "llm-anthropic__test_stream_events_tool_calls.yaml")
    events = parse_events(cassette.interactions[0].response.body)
    assert events[0].event == "message_start"
    assert events[-1].event == "message_stop"


def test_parsed_body_becomes_compact_json_bytes() -> None:
    cassette = load_cassette(REAL_DIR / "pydantic-ai__test_request_simple_usage.yaml")
    interaction = cassette.interactions[0]
    assert interaction.request.body == (
        b'{"messages":[{"content":"Hello! How are you doing?","role":"user"}],'
        b'"model":"gpt-4o","stream":false}'
    )
    answer = json.loads(interaction.response.body)
    assert answer["usage"]["total_tokens"] == 44
    # pydantic-ai re-serialized the body, so the recorded content-length (927) was stale.
    assert interaction.response.head.header("content-length") == str(len(interaction.response.body))


def test_body_type_json_dialect_with_bare_status() -> None:
    path = REAL_DIR / "pydantic-ai__test_openai_web_search_tool_model_not_supported.yaml"
    interaction = load_cassette(path).interactions[0]
    assert interaction.response.head.status == 400
    assert interaction.response.head.reason == "Bad Request"
    assert json.loads(interaction.response.body)["error"]["type"] == "invalid_request_error"
    assert interaction.request.json_body["web_search_options"] == {"search_context_size": "low"}
    # An unquoted date in a header stays the text that was on the wire.
    assert interaction.response.head.header("openai-version") == "2020-10-01"


def test_real_sse_replays_through_the_engine() -> None:
    path = REAL_DIR / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
    store = CassetteStore([path])
    engine = Engine(source=store)
    recorded = load_cassette(path).interactions[0]
    _, plan = engine.handle(recorded.request, "openai", 0.0)
    assert plan.head is not None and plan.head.status == 200
    assert plan.body_bytes() == recorded.response.body
    assert engine.ledger.entries[0].recording == f"{path}#0"
