"""``budget_exceeded``: the tokens one request used, from the usage every answer reported,
over every attempt and step. Apps on the official openai SDK through the in-process door."""

from __future__ import annotations

from agent_world import TOOLS, AgentStopped, AgentWorld, agent

from faultkit.oracle import Contract

# The scripted model bills 300 + 100 x messages in, 20 out: one lookup (ask, tool, answer)
# costs 420 + 620 = 1040 tokens.
CONTRACT = Contract(token_budget=2000, error_types=[AgentStopped])


def test_a_request_that_burns_its_budget_in_a_loop_is_budget_exceeded() -> None:
    world = AgentWorld("loop")
    verdict = world.run(lambda w: agent(w, max_turns=5, stop=False), CONTRACT)
    assert verdict.kind == "budget_exceeded", verdict.explain()
    values = verdict.headline.values
    # 5 answers: input 400, 600, 800, 1000, 1200 (the conversation grows), 20 out each.
    assert values["input_tokens"] == 4000 and values["output_tokens"] == 100
    assert values["tokens"] == 4100 and values["token_budget"] == 2000
    assert values["no_usage_reported"] == []
    assert len(verdict.headline.entry_ids) == 5


def test_retries_count_against_the_budget() -> None:
    """Every attempt is billed: an answer cut at the token limit twice and asked again costs
    three answers' tokens, though only one was used."""
    world = AgentWorld(
        "lookup",
        rules=[
            {
                "match": {"kind": "provider"},
                "when": {"calls": "1-2"},
                "fault": {"type": "token_limit", "max_tokens": 20},
            }
        ],
    )

    def asks_again_when_cut(w: AgentWorld) -> str:
        messages = [{"role": "user", "content": "Refund order 1042."}]
        for _ in range(3):
            choice = w.model.chat.completions.create(
                model="gpt-4o-mini", messages=messages, tools=TOOLS
            ).choices[0]
            if choice.finish_reason != "length":
                return "asked"
        raise AgentStopped("cut three times")

    verdict = world.run(asks_again_when_cut, Contract(token_budget=1000, min_backoff_ms=0))
    assert verdict.kind == "budget_exceeded", verdict.explain()
    assert verdict.has("retried")
    assert [(e.logical_call, e.attempt) for e in world.engine.ledger.entries] == [
        (1, 1),
        (1, 2),
        (1, 3),
    ]
    assert verdict.headline.values["tokens"] == 3 * 420


def test_a_request_within_its_budget_is_silent() -> None:
    world = AgentWorld("lookup")
    verdict = world.run(lambda w: agent(w, max_turns=4), CONTRACT)
    assert verdict.kind == "pass", verdict.explain()
    tokens = sum(e.usage.total for e in world.engine.ledger.entries if e.usage)
    assert tokens == 1040
