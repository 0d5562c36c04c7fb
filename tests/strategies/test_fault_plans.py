"""fault_plans: every generated schedule is a valid scenario, runs in the engine, is
deterministic under hypothesis's seed, and shrinks towards the fewest, plainest faults."""

from __future__ import annotations

import pytest
from _samples import CHAT, ORDERS, Source, request
from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis import strategies as st

from faultkit.engine import Engine
from faultkit.errors import FaultkitError
from faultkit.faults import FAULTS
from faultkit.scenario import Scenario
from faultkit.strategies import FAULT_STRATEGIES, fault_plans, http_errors, summarize
from faultkit.strategies.faults import family

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)
# No explain phase: it re-runs the shrunk example dozens of times and is the slow part.
SHRINK = settings(
    database=None,
    derandomize=True,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


@FAST
@given(plan=fault_plans(routes=["openai", "orders.internal"], max_faults=4))
def test_every_plan_is_a_valid_scenario_that_round_trips(plan: Scenario) -> None:
    # Valid by construction: re-validating the dumped data and loading the YAML give it back.
    assert Scenario.model_validate(plan.model_dump(mode="json")) == plan
    assert Scenario.from_yaml(plan.to_yaml()) == plan
    assert len(plan.rules) <= 4
    names = [rule.name for rule in plan.rules]
    assert all(names) and len(set(names)) == len(names)
    for rule in plan.rules:
        assert rule.match.route in ("openai", "orders.internal")
        first, last = rule.when.call_range() or (rule.when.nth, rule.when.nth)
        assert 1 <= first <= last <= 3
    assert plan.description == summarize(plan)


@FAST
@given(plan=fault_plans(routes=["openai", "orders.internal"], max_faults=3))
def test_every_plan_runs_through_the_engine(plan: Scenario) -> None:
    """Whatever the schedule, the pure engine turns every request into a plan without raising,
    and every fault it fired is one the schedule asked for."""
    engine = Engine(plan, source=Source())
    for url in (CHAT, ORDERS, CHAT, ORDERS, CHAT):
        engine.handle(request(url), "openai" if "chat" in url else "orders.internal", 0.0)
    asked = {rule.name for rule in plan.rules}
    fired = {fault.rule for _entry, fault in engine.ledger.faults_applied()}
    assert fired <= asked


def test_provider_routes_get_only_faults_that_can_act_on_them() -> None:
    @settings(max_examples=80, deadline=None, database=None, derandomize=True)
    @given(plan=fault_plans(routes=["openai"], max_faults=3))
    def check(plan: Scenario) -> None:
        for rule in plan.rules:
            formats = FAULTS[rule.fault.type].formats
            assert formats is None or any(f.value.startswith("openai") for f in formats)

    check()


def test_the_same_seed_gives_the_same_plans() -> None:
    def collect() -> list[str]:
        seen: list[str] = []

        @seed(20260314)
        @settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate])
        @given(plan=fault_plans(routes=["openai", "orders*"]))
        def record(plan: Scenario) -> None:
            seen.append(plan.to_yaml())

        record()
        return seen

    first = collect()
    assert len(set(first)) > 5  # the search really varies
    assert collect() == first


def test_a_failing_property_shrinks_to_one_rule_on_the_first_call() -> None:
    """Anything with a fault shrinks to one fault, on call 1 of the first route, with the
    smallest parameters (hypothesis counts choices: a 1 ms timeout is plainer than a 429)."""
    plan = find(
        fault_plans(routes=["openai", "orders"], max_faults=4, seed=None),
        lambda p: len(p.rules) >= 1,
        settings=SHRINK,
    )
    assert plan.seed == 0
    assert len(plan.rules) == 1
    assert summarize(plan) == "call 1 of openai → no answer for 1 ms, then reset"


def test_an_http_error_shrinks_to_a_429_with_retry_after_1s() -> None:
    plan = find(
        fault_plans(routes=["openai"], faults=["http_error"], calls=range(2, 5)),
        lambda p: any(getattr(r.fault, "retry_after_s", None) for r in p.rules),
        settings=SHRINK,
    )
    assert summarize(plan) == "call 2 of openai → 429 retry-after 1s"


def test_a_range_of_calls_shrinks_to_its_last_call() -> None:
    plan = find(
        fault_plans(routes=["openai"], faults=["timeout"], calls=range(1, 5)),
        lambda p: (
            any((r.when.call_range() or (0, 0))[1] == 3 for r in p.rules)
            or any(r.when.nth == 3 for r in p.rules)
        ),
        settings=SHRINK,
    )
    assert [(r.when.nth, r.when.calls) for r in plan.rules] == [(3, None)]


def test_routes_may_carry_their_own_faults() -> None:
    @settings(max_examples=40, deadline=None, database=None, derandomize=True)
    @given(
        plan=fault_plans(
            routes={"openai": [http_errors(statuses=[503])], "orders*": ["partial_tool_data"]},
            min_faults=1,
        )
    )
    def check(plan: Scenario) -> None:
        for rule in plan.rules:
            expected = "http_error" if rule.match.route == "openai" else "partial_tool_data"
            assert rule.fault.type == expected

    check()


def test_every_registered_fault_has_a_strategy() -> None:
    """A fault added to the catalogue without a strategy would silently never be explored."""
    assert set(FAULT_STRATEGIES) == set(FAULTS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_faults": -1}, "max_faults"),
        ({"min_faults": 3, "max_faults": 2}, "min_faults"),
        ({"calls": [0, 1]}, "count from 1"),
        ({"calls": []}, "at least one call"),
        ({"faults": ["no_such_fault"]}, "no strategy for fault 'no_such_fault'"),
        ({"routes": ["openai"], "faults": ["partial_tool_data"]}, "none of the faults"),
        ({"name": "bad name"}, "not a valid scenario name"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(FaultkitError, match=message):
        fault_plans(**kwargs)


def test_a_fault_with_many_variants_does_not_crowd_out_the_others() -> None:
    """Hypothesis flattens nested one_of: a fault with four variants next to one with a single
    form would get four fifths of the examples. Families are wrapped to keep equal shares."""
    many = st.one_of(*(st.tuples(st.just(f"variant-{i}"), st.integers()) for i in range(4)))
    single = st.tuples(st.just("single"), st.integers())
    drawn: list[str] = []

    @seed(7)
    @settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate])
    @given(st.one_of(family(many), family(single)))
    def tally(value: tuple[str, int]) -> None:
        drawn.append(value[0])

    tally()
    share = drawn.count("single") / len(drawn)
    assert len(drawn) == 300
    assert 0.35 < share < 0.65, share
