"""``runaway_loop``: an agent on the official openai SDK, through faultkit's in-process door,
whose model keeps asking for the same tool call. Without a step cap of its own it runs until
something else stops it; with one it stops within the contract's ``max_steps``."""

from __future__ import annotations

from agent_world import AgentStopped, AgentWorld, agent

from faultkit.oracle import Contract

CONTRACT = Contract(max_steps=4, error_types=[AgentStopped])


def test_an_agent_that_loops_past_max_steps_is_a_runaway_loop() -> None:
    world = AgentWorld("loop")
    verdict = world.run(lambda w: agent(w, max_turns=12, stop=False), CONTRACT)
    assert verdict.kind == "runaway_loop", verdict.explain()
    finding = verdict.headline
    assert finding.values["model_steps"] == 12 and finding.values["tool_steps"] == 12
    assert finding.values["most_asked_tool"] == {"name": "lookup_order", "times": 12}
    assert finding.values["most_repeated_request"]["times"] == 12
    assert "12 model steps and 12 tool steps, more than max_steps 4" in finding.summary
    # The steps past the cap are the evidence: 8 model calls and 8 tool calls.
    assert len(finding.entry_ids) == 16


def test_an_agent_that_stops_within_max_steps_is_controlled() -> None:
    world = AgentWorld("loop")
    verdict = world.run(lambda w: agent(w, max_turns=4), CONTRACT)
    assert verdict.kind == "controlled_error", verdict.explain()
    assert not verdict.has("runaway_loop")


def test_an_agent_that_finishes_normally_is_silent_and_retries_are_not_steps() -> None:
    """A 503 on the tool, retried once by the app: two attempts of one step, not two steps."""
    world = AgentWorld(
        "lookup",
        rules=[
            {
                "match": {"route": "orders.example"},
                "when": {"nth": 1},
                "fault": {"type": "http_error", "status": 503},
            }
        ],
    )

    def retrying_tool(w: AgentWorld, name: str) -> str:
        response = w.http.get("https://orders.example/orders/1042")
        if response.status_code >= 500:
            response = w.http.get("https://orders.example/orders/1042")
        return response.text

    contract = Contract(max_steps=2, min_backoff_ms=0)
    verdict = world.run(lambda w: agent(w, max_turns=4, run_tool=retrying_tool), contract)
    assert not verdict.has("runaway_loop"), verdict.explain()
    assert verdict.kind == "retried"


def test_no_max_steps_no_judgement() -> None:
    world = AgentWorld("loop")
    verdict = world.run(lambda w: agent(w, max_turns=8, stop=False), Contract())
    assert not verdict.has("runaway_loop")
