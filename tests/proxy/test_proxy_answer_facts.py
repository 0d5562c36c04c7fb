"""The real ``faultkit proxy`` process keeps the ledger facts the budget, loop and side-effect
verdicts read, as the in-process door does: every replayed answer's usage and tool calls
(streamed, with the official openai SDK), and a tool request's idempotency key, read back from
``GET /faultkit/ledger``."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import openai
from proxy_process import ProxyFactory

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
TWO_TURN_STREAM = REAL / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"


def test_usage_tool_calls_and_idempotency_key_through_the_proxy(
    proxy: ProxyFactory, tmp_path: Path
) -> None:
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    shutil.copy(TWO_TURN_STREAM, cassettes / TWO_TURN_STREAM.name)
    (tmp_path / "faultkit.toml").write_text(
        '[upstreams.payments]\nurl = "http://payments.invalid"\n', encoding="utf-8"
    )
    p = proxy(
        "--cassettes",
        str(cassettes),
        "--match-on",
        "method,path",
        "--playback",
        "once",
        "--config",
        str(tmp_path / "faultkit.toml"),
        "--timing-scale",
        "0",
    )
    client = openai.OpenAI(api_key="sk-test", base_url=p.door("openai"), max_retries=0)
    ask = [{"role": "user", "content": "What is the capital of the UK?"}]
    first = list(client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True))
    list(client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True))
    usage = [c.usage for c in first if c.usage is not None][-1]
    # A tool route with no recording: its entry still keeps the request's idempotency key.
    httpx.post(
        f"{p.door('payments')}/v1/refunds",
        json={"order": "A1"},
        headers={"Idempotency-Key": "refund-A1"},
        timeout=5,
    )
    ledger = p.ledger()
    chat = [e for e in ledger if e["route"] == "openai"]
    assert chat[0]["usage"] == {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "cached_tokens": 0,
    }
    assert chat[0]["tool_calls"] == ["get_capital"]
    assert chat[1]["usage"] == {"input_tokens": 78, "output_tokens": 9, "cached_tokens": 0}
    assert chat[1]["tool_calls"] == []
    (refund,) = [e for e in ledger if e["route"] == "payments"]
    assert refund["idempotency_key"] == "refund-A1"
    assert refund["usage"] is None
