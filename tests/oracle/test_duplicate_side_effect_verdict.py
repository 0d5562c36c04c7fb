"""``duplicate_side_effect``: a refund agent on the official openai SDK, through faultkit's
in-process door, whose refund request first fails with a 503. Sending it again without an
idempotency key may pay twice; the same key on both makes the repeat safe."""

from __future__ import annotations

import uuid

from agent_world import MCP_URL, REFUND_URL, AgentWorld, agent

from faultkit.oracle import Contract

FIRST_REFUND_FAILS = [
    {
        "match": {"route": "payments.example"},
        "when": {"nth": 1},
        "fault": {"type": "http_error", "status": 503},
    }
]
CONTRACT = Contract(min_backoff_ms=0)


def retries_without_key(world: AgentWorld, name: str) -> str:
    response = world.http.post(REFUND_URL, json={"order": "1042"})
    if response.status_code >= 500:
        response = world.http.post(REFUND_URL, json={"order": "1042"})
    return response.text


def retries_with_one_key(world: AgentWorld, name: str) -> str:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    response = world.http.post(REFUND_URL, json={"order": "1042"}, headers=key)
    if response.status_code >= 500:
        response = world.http.post(REFUND_URL, json={"order": "1042"}, headers=key)
    return response.text


def retries_with_a_new_key(world: AgentWorld, name: str) -> str:
    """A fresh key per attempt: the server cannot tell the retry from a new refund."""
    for _ in range(2):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        response = world.http.post(REFUND_URL, json={"order": "1042"}, headers=key)
        if response.status_code < 500:
            break
    return response.text


def test_a_refund_retried_without_an_idempotency_key_is_a_duplicate_side_effect() -> None:
    world = AgentWorld("refund", FIRST_REFUND_FAILS)
    verdict = world.run(lambda w: agent(w, max_turns=4, run_tool=retries_without_key), CONTRACT)
    assert verdict.kind == "duplicate_side_effect", verdict.explain()
    values = verdict.headline.values
    assert values["request"] == f"POST {REFUND_URL}"
    assert values["tool"] == "issue_refund"  # derived from the model's tool call
    assert values["sent"] == 2 and values["possible_runs"] == 2
    assert values["statuses"] == [503, 200]
    assert "without an idempotency key" in verdict.headline.summary


def test_a_fresh_key_per_attempt_is_no_key_at_all() -> None:
    world = AgentWorld("refund", FIRST_REFUND_FAILS)
    verdict = world.run(lambda w: agent(w, max_turns=4, run_tool=retries_with_a_new_key), CONTRACT)
    assert verdict.kind == "duplicate_side_effect", verdict.explain()
    assert len(verdict.headline.values["idempotency_keys"]) == 2


def test_the_same_key_on_every_attempt_is_controlled() -> None:
    world = AgentWorld("refund", FIRST_REFUND_FAILS)
    verdict = world.run(lambda w: agent(w, max_turns=4, run_tool=retries_with_one_key), CONTRACT)
    assert not verdict.has("duplicate_side_effect"), verdict.explain()
    assert verdict.kind == "retried"


def test_a_retry_after_a_refusal_ran_nothing_the_first_time() -> None:
    """A 429 is a refusal: nothing was paid, so the retry without a key is safe."""
    rules = [
        {
            "match": {"route": "payments.example"},
            "when": {"nth": 1},
            "fault": {"type": "http_error", "status": 429},
        }
    ]
    world = AgentWorld("refund", rules)
    verdict = world.run(lambda w: agent(w, max_turns=4, run_tool=retries_without_key), CONTRACT)
    assert not verdict.has("duplicate_side_effect"), verdict.explain()


def test_a_tool_named_side_effecting_counts_whatever_its_method() -> None:
    """A GET that changes something (a legacy API) is side-effecting when the contract says
    so, by the tools map's name."""
    rules = [{"match": {"route": "orders.example"}, "when": {"nth": 1}, "fault": {"type": "reset"}}]

    def get_twice(world: AgentWorld, name: str) -> str:
        try:
            return world.http.get("https://orders.example/orders/1042").text
        except Exception:
            return world.http.get("https://orders.example/orders/1042").text

    contract = Contract(
        min_backoff_ms=0,
        tools={"cancel_order": "GET orders.example/orders/*"},
        side_effecting_tools=["cancel_order"],
    )
    world = AgentWorld("lookup", rules)
    verdict = world.run(lambda w: agent(w, max_turns=4, run_tool=get_twice), contract)
    assert verdict.has("duplicate_side_effect"), verdict.explain()
    assert verdict.findings_of("duplicate_side_effect")[0].values["tool"] == "cancel_order"
    # Without the contract saying so, a repeated GET is no side effect.
    world = AgentWorld("lookup", rules)
    verdict = world.run(
        lambda w: agent(w, max_turns=4, run_tool=get_twice), Contract(min_backoff_ms=0)
    )
    assert not verdict.has("duplicate_side_effect"), verdict.explain()


def mcp_call(world: AgentWorld, rpc_id: int, title: str) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "method": "tools/call",
        "params": {"name": "create_ticket", "arguments": {"title": title}},
    }
    return world.http.post(MCP_URL, json=body).status_code


def test_an_mcp_tool_call_retried_with_a_new_id_is_the_same_call() -> None:
    """An MCP client sends its retry with the next JSON-RPC id: the bodies differ, the call
    (tool and arguments) is the same. Only a tool the contract names counts: every MCP call
    is a POST."""
    rules = [
        {
            "match": {"route": "tickets.example"},
            "when": {"nth": 1},
            "fault": {"type": "http_error", "status": 502},
        }
    ]

    def retries(world: AgentWorld) -> str:
        if mcp_call(world, 1, "Kettle broken") >= 500:
            mcp_call(world, 2, "Kettle broken")
        return "ticket opened"

    named = Contract(min_backoff_ms=0, side_effecting_tools=["create_ticket"])
    world = AgentWorld("lookup", rules)
    verdict = world.run(retries, named)
    assert verdict.kind == "duplicate_side_effect", verdict.explain()
    assert verdict.headline.values["tool"] == "create_ticket"
    assert verdict.headline.values["sent"] == 2
    ids = [e.body_hash for e in world.engine.ledger.entries]
    assert ids[0] != ids[1]  # not byte-identical: the call key found them
    # The same retries, the tool not named side-effecting: silent.
    world = AgentWorld("lookup", rules)
    assert not world.run(retries, Contract(min_backoff_ms=0)).has("duplicate_side_effect")


def test_two_different_mcp_calls_are_not_a_repeat() -> None:
    def two_tickets(world: AgentWorld) -> str:
        mcp_call(world, 1, "Kettle broken")
        mcp_call(world, 2, "Toaster broken")
        return "two tickets"

    world = AgentWorld("lookup")
    verdict = world.run(two_tickets, Contract(side_effecting_tools=["create_ticket"]))
    assert verdict.kind == "pass", verdict.explain()
