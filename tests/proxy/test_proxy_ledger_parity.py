"""The proxy writes the same ledger facts as the in-process door for a live answer.

The oracle judges what the ledger says (``retry_after_ignored`` reads ``retry_after_ms``), so
a live 429 with ``retry-after: 2`` must read the same whether it passed through the real proxy
process (either of its pass-through paths, or while recording) or through the in-process
transport; so must a plain JSON tool's answer, whose format only its content type tells.
"""

from __future__ import annotations

import httpx
import openai
import pytest
from _upstream_app import RATE_LIMITED_MODEL, LocalUpstream

from faultkit.doors import FaultkitTransport
from faultkit.engine import Engine
from faultkit.ledger import LedgerEntry

# Everything an exchange's ledger entry says that does not depend on timing.
FACTS = (
    "route",
    "method",
    "url",
    "format",
    "model",
    "tool",
    "status",
    "retry_after_ms",
    "ending",
    "bytes_sent",
    "logical_call",
    "attempt",
    "faults",
    "skipped",
)
HI = [{"role": "user", "content": "hi"}]


def facts(entry: LedgerEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in FACTS}


def exercise(client: openai.OpenAI, tool: httpx.Client) -> None:
    """The same exchanges through either door: a live 429 twice (through the proxy, first on
    a new upstream connection, then on the kept-alive one, answered from its callbacks with
    no task), then a JSON tool's answer."""
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=RATE_LIMITED_MODEL, messages=HI)
    assert tool.get("/orders/1234").json()["status"] == "shipped"


def in_process_facts(upstream: LocalUpstream) -> list[dict[str, object]]:
    """The in-process door's ledger, its routes named as the proxy's doors are."""
    engine = Engine()
    with (
        httpx.Client(transport=FaultkitTransport(engine, route="llm", mode="passthrough")) as llm,
        httpx.Client(
            transport=FaultkitTransport(engine, route="orders", mode="passthrough"),
            base_url=upstream.url,
            timeout=10,
        ) as tool,
    ):
        client = openai.OpenAI(
            base_url=f"{upstream.url}/v1", api_key="sk-x", max_retries=0, http_client=llm
        )
        exercise(client, tool)
    return [facts(entry) for entry in engine.ledger.entries]


@pytest.mark.parametrize("mode", ["passthrough", "record"])
def test_a_live_429_and_a_tool_answer_read_the_same_in_both_doors(proxy, tmp_path, mode) -> None:
    with LocalUpstream() as upstream:
        expected = in_process_facts(upstream)
        recording = ["--cassettes", str(tmp_path / "rec")] if mode == "record" else []
        door = proxy(
            "--mode",
            mode,
            *recording,
            "--upstream",
            f"llm={upstream.url}/v1",
            "--upstream",
            f"orders={upstream.url}",
        )
        client = openai.OpenAI(base_url=door.door("llm"), api_key="sk-x", max_retries=0)
        with httpx.Client(base_url=door.door("orders"), timeout=10) as http:
            exercise(client, http)
        got = [facts(LedgerEntry.model_validate(e)) for e in door.ledger()]
    limited, _, tool = expected
    assert (limited["status"], limited["retry_after_ms"]) == (429, 2000.0)
    assert (tool["status"], tool["format"]) == (200, "json")
    assert got == expected
