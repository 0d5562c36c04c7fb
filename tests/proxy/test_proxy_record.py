"""Record through the proxy from a local upstream, then replay with the upstream gone."""

from __future__ import annotations

import signal
import time

import httpx
import openai
import pytest
import yaml
from _upstream_app import GAP_S, WORDS, LocalUpstream

SECRET = "sk-live-secret-value-123"


def stream_arrivals(client: openai.OpenAI) -> tuple[str, list[float]]:
    """Streamed text and when each chunk arrived (s since the call)."""
    start = time.monotonic()
    text = ""
    arrivals = []
    for chunk in client.chat.completions.create(
        model="local-model", messages=[{"role": "user", "content": "where?"}], stream=True
    ):
        arrivals.append(time.monotonic() - start)
        for choice in chunk.choices:
            text += choice.delta.content or ""
    return text, arrivals


def upstream_args(upstream: LocalUpstream) -> list[str]:
    return ["--upstream", f"llm={upstream.url}/v1,env=LLM_BASE_URL", "--only", "llm"]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_record_then_replay_without_the_upstream(proxy, tmp_path, stop_signal) -> None:
    cassettes = tmp_path / "cassettes"
    with LocalUpstream() as upstream:
        recorder = proxy(
            "--mode", "record", "--cassettes", str(cassettes), *upstream_args(upstream)
        )
        client = openai.OpenAI(base_url=recorder.door("llm"), api_key=SECRET, max_retries=0)
        answer = client.chat.completions.create(
            model="local-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content == "".join(WORDS)
        text, arrivals = stream_arrivals(client)
        assert text == "".join(WORDS)
        # Streamed through, not buffered: the first chunk arrives long before the last.
        assert arrivals[0] < arrivals[-1] - 4 * GAP_S
        code, _, err = recorder.stop(stop_signal)
        assert code == 0, err
        assert len(upstream.seen) == 2
    written = cassettes / "llm.yaml"
    assert f"wrote {written}" in err
    text_file = written.read_text()
    assert SECRET not in text_file
    data = yaml.safe_load(text_file)
    assert len(data["interactions"]) == 2
    assert data["interactions"][0]["request"]["uri"].endswith("/v1/chat/completions")
    timing = data["interactions"][1]["faultkit"]
    offsets = timing["event_offsets_ms"]
    assert len(offsets) == 8
    assert offsets[-1] - offsets[0] >= 6 * GAP_S * 1000

    # The upstream is gone: replay answers from the cassette alone, with the recorded pacing.
    replayer = proxy(
        "--cassettes", str(cassettes), "--upstream", f"llm={upstream.url}/v1", "--only", "llm"
    )
    client = openai.OpenAI(base_url=replayer.door("llm"), api_key="sk-other", max_retries=0)
    answer = client.chat.completions.create(
        model="local-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "".join(WORDS)
    text, arrivals = stream_arrivals(client)
    assert text == "".join(WORDS)
    # Paced, not all at once (that would be a span near 0): the client's first read may wake
    # late on a busy 2-core machine and shorten what it sees (0.4316 s against 0.432 once).
    assert arrivals[-1] - arrivals[0] >= 6 * GAP_S * 0.6
    entries = replayer.ledger()
    assert [e["recording"].rsplit("#", 1)[1] for e in entries] == ["0", "1"]


def test_passthrough_streams_live_and_faults_on_top(proxy) -> None:
    with LocalUpstream() as upstream:
        door = proxy("--mode", "passthrough", *upstream_args(upstream))
        client = openai.OpenAI(base_url=door.door("llm"), api_key="sk-x", max_retries=0)
        text, arrivals = stream_arrivals(client)
        assert text == "".join(WORDS)
        assert arrivals[0] < arrivals[-1] - 4 * GAP_S

        # A fault that answers on its own never reaches the upstream.
        seen = len(upstream.seen)
        with pytest.raises(openai.InternalServerError):
            client.with_options(
                default_headers={"x-faultkit-fault": "type=http_error;status=503"}
            ).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert len(upstream.seen) == seen

        # A latency fault delays a live answer by about its value.
        slow = client.with_options(
            default_headers={"x-faultkit-fault": "type=latency;latency_ms=300"}
        )
        start = time.monotonic()
        slow.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert 0.3 <= time.monotonic() - start < 1.5
        assert len(upstream.seen) == seen + 1


def test_passthrough_with_the_upstream_down_is_an_explicit_502(proxy) -> None:
    with LocalUpstream() as upstream:
        url = upstream.url
    door = proxy("--mode", "passthrough", "--upstream", f"gone={url}", "--only", "gone")
    r = httpx.get(door.door("gone") + "/orders/1234", timeout=10)
    assert r.status_code == 502
    assert r.headers["x-faultkit-error"] == "upstream"
    assert r.json()["error"]["type"] == "faultkit_upstream"
    [entry] = door.ledger()
    assert entry["ending"] == "error"


def test_plain_httpx_tool_through_passthrough_and_record(proxy, tmp_path) -> None:
    with LocalUpstream() as upstream:
        door = proxy(
            "--mode",
            "record",
            "--cassettes",
            str(tmp_path / "tools.yaml"),
            "--upstream",
            f"orders={upstream.url},env=ORDERS_URL",
            "--only",
            "orders",
        )
        with httpx.Client(base_url=door.door("orders"), timeout=10) as http:
            assert http.get("/orders/1234").json()["status"] == "shipped"
            assert http.get("/orders/9999").status_code == 404
        assert door.stop()[0] == 0
    data = yaml.safe_load((tmp_path / "tools.yaml").read_text())
    statuses = [i["response"]["status"]["code"] for i in data["interactions"]]
    assert statuses == [200, 404]
