"""The pytest side of exploring: one ``faultkit`` fixture serves every hypothesis example.

``@given(plan=fault_plans(...))`` hands a test a new schedule per example while its fixtures
stay the same, so :func:`reset_engine` puts the session's engine back to a clean slate for each
plan (rules, seed, ledger, call counters, recordings), and :func:`check_plan` runs the target
the way ``faultkit.check`` does (same client wiring, same deadline) and judges it.
:func:`assert_plan_controlled` fails the example with the verdict, the plan in words, the plan
as scenario YAML and the repro command; hypothesis shows that message for the shrunk plan.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faultkit.explore.search import failure_for, record_event
from faultkit.scenario import Scenario

if TYPE_CHECKING:
    from faultkit.engine import Engine
    from faultkit.oracle import Contract, Verdict
    from faultkit.session import FaultkitSession


def reset_engine(engine: Engine, plan: Scenario, store: Any = None) -> None:
    """Make ``engine`` run ``plan`` from a clean slate: the plan's rules and seed, an empty
    ledger, call counters at zero and (when ``store`` can) recordings rewound. Clients already
    wired to the engine keep working, which is what lets one pytest fixture serve every
    example hypothesis generates."""
    engine.clear_rules()
    engine.ledger.reset()
    engine.scenario = plan
    engine.seed = plan.seed
    for index, rule in enumerate(plan.rules):
        engine.add_rule(
            rule if rule.name else rule.model_copy(update={"name": plan.rule_label(index)})
        )
    rewind = getattr(store, "rewind", None)
    if callable(rewind):
        rewind()


def _pytest_repro() -> str | None:
    current = os.environ.get("PYTEST_CURRENT_TEST")
    if not current:
        return None
    nodeid = current.rsplit(" (", 1)[0]
    return f"pytest '{nodeid}' (hypothesis replays the saved failure first)"


def _note(plan: Scenario) -> None:
    """Put the schedule in hypothesis's report of the failing example, so it shows whatever
    the test then fails on (the verdict, or an assertion of the test's own)."""
    try:
        from hypothesis import note
        from hypothesis.control import currently_in_test_context
    except ImportError:  # pragma: no cover - a hand-written plan, without hypothesis
        return
    from faultkit.strategies.describe import summarize

    if currently_in_test_context():
        note(f"fault schedule: {summarize(plan)}")


def check_plan(
    session: FaultkitSession,
    target: Callable[..., Any],
    *args: Any,
    plan: Scenario | None = None,
    contract: Contract | None = None,
    **kwargs: Any,
) -> Verdict:
    """Run ``target(*args, **kwargs)`` under ``plan`` on ``session`` and judge it, the way
    ``faultkit.check`` does (same client wiring, same deadline), without asserting.

    With a plan the engine is reset to it first (see :func:`reset_engine`); without one the
    session's current rules are used."""
    # The runner's own wiring and bounded call: a target behaves here exactly as under
    # `faultkit run` and `faultkit.check`.
    from faultkit.doors.flow import clock_origin
    from faultkit.oracle import Contract, judge
    from faultkit.runner.checking import replay_keys, wait_limit_s, wire_clients
    from faultkit.runner.target import call_bounded

    if plan is not None:
        reset_engine(session.engine, plan, session.store)
        _note(plan)
    contract = contract or Contract()
    is_async = inspect.iscoroutinefunction(target)
    origin = clock_origin(session.engine)

    def clock() -> float:
        return (time.monotonic() - origin) * 1000

    wired = wire_clients(session, target, kwargs, is_async)
    limit = wait_limit_s(session, contract)
    with replay_keys(session):
        result = call_bounded(target, list(args), wired, is_async, limit, clock, clock())
    # No `rules=`: a generated schedule that fires on nothing is no finding (the search moves
    # on), so it is judged by its outcome alone rather than as not_exercised.
    verdict = judge(session.engine.ledger, result, contract, session.engine.scenario)
    record_event(verdict)
    return verdict


def assert_plan_controlled(
    session: FaultkitSession,
    target: Callable[..., Any],
    *args: Any,
    plan: Scenario | None = None,
    contract: Contract | None = None,
    **kwargs: Any,
) -> Verdict:
    """:func:`check_plan`, raising :class:`UncontrolledPlan` unless the verdict is controlled
    and allowed. The message holds the verdict and its evidence, the plan in words, the plan
    as scenario YAML to save under ``scenarios/``, and the repro command."""
    __tracebackhide__ = True
    verdict = check_plan(session, target, *args, plan=plan, contract=contract, **kwargs)
    if verdict.ok:
        return verdict
    raise failure_for(session.engine.scenario, verdict, _pytest_repro())
