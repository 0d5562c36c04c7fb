"""Hypothesis strategies for chaos properties: fault schedules, HTTP errors, stream cuts,
schema drift and partial tool data, all valid by construction and built to shrink.

    from hypothesis import given
    from faultkit import strategies as fks

    @fks.chaos_settings()
    @given(plan=fks.fault_plans(routes=["openai", "orders.internal"], max_faults=4))
    def test_support_bot_is_controlled(faultkit, plan):
        faultkit.assert_controlled(answer, "Where is my order?", plan=plan, contract=CONTRACT)

When a schedule breaks the app, hypothesis shrinks it to the fewest, plainest faults that still
break it, and the failure prints that schedule in words and as a scenario file to keep.

Needs hypothesis (``pip install faultkit[dev]`` or ``pip install hypothesis``).
"""

from faultkit.strategies.describe import (
    describe_fault,
    describe_rule,
    describe_when,
    failure_report,
    summarize,
)
from faultkit.strategies.drift import (
    FieldSlot,
    model_fields,
    partial_tool_data,
    payload_fields,
    schema_drifts,
)
from faultkit.strategies.faults import (
    FAULT_STRATEGIES,
    Limits,
    broken_sse,
    fault_specs,
    http_errors,
    latencies,
    malformed_bodies,
    random_partial_tool_data,
    random_schema_drifts,
    refusals,
    resets,
    slow_first_tokens,
    stalls,
    stream_cuts,
    timeouts,
    token_limits,
    tool_call_faults,
)
from faultkit.strategies.plans import build_plan, fault_plans, name_rules, rules, whens
from faultkit.strategies.settings import chaos_settings, examples_budget

__all__ = [
    "FAULT_STRATEGIES",
    "FieldSlot",
    "Limits",
    "broken_sse",
    "build_plan",
    "chaos_settings",
    "describe_fault",
    "describe_rule",
    "describe_when",
    "examples_budget",
    "failure_report",
    "fault_plans",
    "fault_specs",
    "http_errors",
    "latencies",
    "malformed_bodies",
    "model_fields",
    "name_rules",
    "partial_tool_data",
    "payload_fields",
    "random_partial_tool_data",
    "random_schema_drifts",
    "refusals",
    "resets",
    "rules",
    "schema_drifts",
    "slow_first_tokens",
    "stalls",
    "stream_cuts",
    "summarize",
    "timeouts",
    "token_limits",
    "tool_call_faults",
    "whens",
]
