"""budget_exceeded on live traffic: the real ``faultkit proxy`` in passthrough mode in front of
a local OpenAI-compatible upstream (real sockets). Each live answer's usage reaches the ledger
as it passes, and the oracle adds it up over a user request's calls; a streamed answer that
reports none is listed as such."""

from __future__ import annotations

import openai
from _upstream_app import LocalUpstream
from proxy_process import ProxyFactory

from faultkit.ledger import LedgerEntry
from faultkit.oracle import Contract, Result, judge


def test_live_usage_is_added_up_against_the_token_budget(proxy: ProxyFactory) -> None:
    with LocalUpstream() as upstream:
        door = proxy(
            "--mode", "passthrough", "--upstream", f"llm={upstream.url}/v1", "--only", "llm"
        )
        client = openai.OpenAI(api_key="sk-test", base_url=door.door("llm"), max_retries=0)
        ask = [{"role": "user", "content": "Where is my order?"}]
        plain = client.chat.completions.create(model="local-model", messages=ask)
        client.chat.completions.create(model="local-model", messages=ask)
        chunks = list(
            client.chat.completions.create(
                model="local-model",
                messages=ask,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        ledger = [LedgerEntry.model_validate(e) for e in door.ledger()]
    assert [e.usage.total if e.usage else None for e in ledger[:2]] == [
        plain.usage.total_tokens
    ] * 2
    # The local upstream streams no usage chunk (as OpenAI without include_usage): none.
    assert [c.usage for c in chunks if c.usage is not None] == []
    assert ledger[2].usage is None and ledger[2].tool_calls == []
    within = judge(ledger, Result(value="ok", duration_ms=10), Contract(token_budget=100))
    assert within.kind == "pass", within.explain()
    over = judge(ledger, Result(value="ok", duration_ms=10), Contract(token_budget=15))
    assert over.kind == "budget_exceeded", over.explain()
    assert over.headline.values["tokens"] == 2 * plain.usage.total_tokens
    assert over.headline.values["no_usage_reported"] == [ledger[2].id]
