"""Strategies for the model's own misbehaviour (token_limit, refusal): valid by construction,
shrinking to the plainest case, and offered on the provider routes."""

from __future__ import annotations

from hypothesis import find, given
from hypothesis import strategies as st

from faultkit.faults.refusal import Refusal
from faultkit.faults.token_limit import TokenLimit
from faultkit.strategies import fault_specs, refusals, token_limits
from faultkit.strategies.faults import applies_on


@given(token_limits())
def test_token_limits_are_valid_faults(fault: TokenLimit) -> None:
    assert 0 < fault.keep < 1 and fault.max_tokens is None
    assert TokenLimit.model_validate(fault.params()) == fault


@given(refusals())
def test_refusals_are_valid_faults(fault: Refusal) -> None:
    assert Refusal.model_validate(fault.params()) == fault


def test_they_shrink_to_the_plainest_case() -> None:
    assert find(token_limits(), lambda f: True) == TokenLimit(keep=0.5)
    assert find(refusals(), lambda f: True) == Refusal(kind="refusal")


def test_offered_on_provider_routes() -> None:
    assert applies_on("token_limit", "openai") and applies_on("refusal", "anthropic")
    names = {"token_limit", "refusal"}
    seen = find(
        st.lists(fault_specs(sorted(names), route="openai"), min_size=20),
        lambda faults: {f.type for f in faults} == names,
    )
    assert {f.type for f in seen} == names
