"""``fault_plans``: hypothesis searches fault *schedules*, as ready-to-run scenarios.

A plan is a :class:`~faultkit.scenario.Scenario` whose rules each put one fault on one route at
one call (``when: {nth: k}``) or a short run of calls (``when: {calls: "k-m"}``). It is built
from the scenario models themselves, so every generated plan passes scenario validation, prints
as a scenario file (``plan.to_yaml()``) and runs through the same engine as a hand-written one.

Shrinking is what makes a found failure readable: rules are a list that shrinks by deleting
rules first, call indices shrink towards 1, single calls are tried before ranges, routes towards
the first one given, and each fault's parameters towards its plainest form (see
:mod:`faultkit.strategies.faults`). Rules are sorted by route and call in the plan, so the
schedule reads in the order it happens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from faultkit.errors import FaultkitError
from faultkit.faults import Fault
from faultkit.scenario import Expectation, Match, Rule, Scenario, When
from faultkit.strategies.describe import summarize
from faultkit.strategies.faults import (
    DEFAULT_MAX_DELAY_MS,
    DEFAULT_MAX_EVENT,
    DEFAULT_MAX_RETRY_AFTER_S,
    FaultChoice,
    Limits,
    NoFaultForRoute,
    family,
    fault_specs,
)

SearchStrategy = st.SearchStrategy

DEFAULT_CALLS = range(1, 4)
ANY_ROUTE = "*"
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def _call_indices(calls: range | Iterable[int] | int) -> list[int]:
    """The call indices a rule may pick, ascending. An int N means calls 1..N."""
    indices = list(range(1, calls + 1)) if isinstance(calls, int) else sorted(set(calls))
    if not indices:
        raise FaultkitError("calls must hold at least one call index (calls count from 1)")
    bad = [i for i in indices if not isinstance(i, int) or isinstance(i, bool) or i < 1]
    if bad:
        raise FaultkitError(f"call indices count from 1; got {bad}")
    return indices


def whens(calls: range | Iterable[int] | int = DEFAULT_CALLS, *, ranges: bool = True) -> Any:
    """Which matching call(s) a rule faults: one call (``nth``) first, then a run of calls
    (``calls: "k-m"``, with ``ranges``). Indices shrink towards the smallest."""
    indices = _call_indices(calls)
    single = st.sampled_from(indices).map(lambda k: When(nth=k))
    if not ranges or len(indices) < 2:
        return single
    # A run is drawn as its last call and how far back it reaches, so shrinking the reach to
    # zero (or switching to a single call) keeps the last call: the one a failure follows.
    lasts = st.sampled_from(indices)
    reach = {last: st.sampled_from([i for i in reversed(indices) if i <= last]) for last in indices}

    @st.composite
    def spans(draw: st.DrawFn) -> When:
        last = draw(lasts)
        first = draw(reach[last])
        return When(nth=last) if first == last else When(calls=f"{first}-{last}")

    return st.one_of(single, spans())


def _route_table(
    routes: Sequence[str] | Mapping[str, Sequence[FaultChoice] | None] | None,
    faults: Sequence[FaultChoice] | None,
    limits: Limits,
) -> list[tuple[str | None, SearchStrategy[Fault]]]:
    """(route glob or None for any route, fault strategy) pairs, in the order given."""
    if routes is None:
        return [(None, fault_specs(faults, limits))]
    if isinstance(routes, str):
        routes = [routes]
    pairs = list(routes.items()) if isinstance(routes, Mapping) else [(r, None) for r in routes]
    for route, _ in pairs:
        if not isinstance(route, str) or not route:
            raise FaultkitError(f"a route must be a non-empty name or glob, got {route!r}")
    if not pairs:
        raise FaultkitError("routes must name at least one route (or be None for any route)")
    table: list[tuple[str | None, SearchStrategy[Fault]]] = []
    for route, own in pairs:
        try:
            strategy = fault_specs(own if own is not None else faults, limits, route=route)
        except NoFaultForRoute:
            if own is not None:
                raise
            continue  # none of the shared faults can act on this route: leave it out
        table.append((None if route == ANY_ROUTE else route, strategy))
    if not table:
        names = ", ".join(r for r, _ in pairs)
        raise FaultkitError(f"none of the faults given can act on any of the routes ({names})")
    return table


def _rules_over(
    table: list[tuple[str | None, SearchStrategy[Fault]]],
    calls: range | Iterable[int] | int,
    ranges: bool,
) -> SearchStrategy[Rule]:
    when = whens(calls, ranges=ranges)

    def rule_on(route: str | None, faults_here: SearchStrategy[Fault]) -> SearchStrategy[Rule]:
        match = Match(route=route)
        return st.builds(lambda w, f: Rule(match=match, when=w, fault=f), when, faults_here)

    return st.one_of([family(rule_on(route, strategy)) for route, strategy in table])


def rules(
    routes: Sequence[str] | Mapping[str, Sequence[FaultChoice] | None] | None = None,
    faults: Sequence[FaultChoice] | None = None,
    calls: range | Iterable[int] | int = DEFAULT_CALLS,
    *,
    ranges: bool = True,
    limits: Limits | None = None,
) -> SearchStrategy[Rule]:
    """One rule: a route from ``routes``, calls from ``calls``, a fault from ``faults``.
    ``routes`` may map each route to its own faults (None = the shared ``faults``)."""
    return _rules_over(_route_table(routes, faults, limits or Limits()), calls, ranges)


def _first_call(rule: Rule) -> int:
    span = rule.when.call_range()
    if span is not None:
        return span[0]
    return rule.when.nth or 1


def _rule_name(rule: Rule) -> str:
    route = _SLUG.sub("", rule.match.route or "any") or "route"
    span = rule.when.call_range()
    where = f"calls{span[0]}-{span[1]}" if span is not None else f"call{rule.when.nth or 1}"
    return f"{route}-{where}-{rule.fault.type}"


def name_rules(items: Iterable[Rule]) -> list[Rule]:
    """Rules with readable, unique names (``openai-call2-http_error``), the order kept."""
    named: list[Rule] = []
    used: set[str] = set()
    for rule in items:
        base = rule.name or _rule_name(rule)
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        named.append(rule.model_copy(update={"name": name}))
    return named


def _covered_calls(when: When) -> set[int] | None:
    """The calls a plain ``nth`` / ``calls`` rule faults; None for "every call". Raises
    ValueError for conditions this module never generates (probability, every, windows)."""
    if when.probability < 1 or when.after or when.every or when.window_ms:
        raise ValueError("not a plain call selection")
    span = when.call_range()
    if when.nth is not None:
        return {when.nth} if span is None or span[0] <= when.nth <= span[1] else set()
    return set(range(span[0], span[1] + 1)) if span is not None else None


def without_overridden(items: Sequence[Rule]) -> list[Rule]:
    """``items`` (in the order the engine applies them) without rules whose fault a later rule
    always replaces: a later fault that answers on its own (an HTTP error, a timeout, a reset
    before the head, a gateway page) on the same route and at least the same calls leaves
    nothing of an earlier one. Such a rule changes nothing on the wire, but the ledger would
    still list it (with, say, a retry-after nobody received), so it is left out."""
    kept: list[Rule] = []
    for index, rule in enumerate(items):
        try:
            mine = _covered_calls(rule.when)
        except ValueError:
            kept.append(rule)
            continue
        shadowed = False
        for later in items[index + 1 :]:
            if later.match != rule.match or later.fault.needs_source:
                continue
            try:
                theirs = _covered_calls(later.when)
            except ValueError:
                continue
            if theirs is None or (mine is not None and mine <= theirs):
                shadowed = True
                break
        if not shadowed:
            kept.append(rule)
    return kept


def build_plan(
    items: Sequence[Rule],
    *,
    name: str = "explored",
    seed: int = 0,
    expect: Expectation | None = None,
    route_order: Sequence[str | None] = (),
) -> Scenario:
    """A scenario from ``items``: sorted by route (in ``route_order``) then first call, rules
    that a later one overrides left out (:func:`without_overridden`), named, described in
    words, validated as any scenario is."""
    order = {route: i for i, route in enumerate(route_order)}
    ordered = sorted(items, key=lambda r: (order.get(r.match.route, len(order)), _first_call(r)))
    named = name_rules(without_overridden(ordered))
    data: dict[str, Any] = {"name": name, "seed": seed, "rules": named}
    if expect is not None:
        data["expect"] = expect
    draft = Scenario.model_validate(data)
    return draft.model_copy(update={"description": summarize(draft)})


def fault_plans(
    routes: Sequence[str] | Mapping[str, Sequence[FaultChoice] | None] | None = None,
    max_faults: int = 4,
    faults: Sequence[FaultChoice] | None = None,
    calls: range | Iterable[int] | int = DEFAULT_CALLS,
    *,
    min_faults: int = 0,
    ranges: bool = True,
    seed: int | None = None,
    name: str = "explored",
    expect: Expectation | None = None,
    max_delay_ms: int = DEFAULT_MAX_DELAY_MS,
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
    max_event: int = DEFAULT_MAX_EVENT,
) -> SearchStrategy[Scenario]:
    """Fault schedules as scenarios, for ``@given(plan=fault_plans(...))``.

    - ``routes``: route names or globs (``["openai", "orders*"]``) as the door names them; a
      mapping gives each route its own faults. None: any route.
    - ``max_faults`` / ``min_faults``: how many rules (0 is the fault-free baseline, and what
      everything shrinks towards).
    - ``faults``: fault type names and/or fault strategies; None: every registered fault.
    - ``calls``: the call indices a rule may fault, per route and counted from 1 (a range, a
      list, or N for 1..N); ``ranges`` also tries runs of calls (``calls: "1-3"``).
    - ``seed``: the scenario seed (the faults' own random choices); None draws it, shrinking
      towards 0.
    - ``max_delay_ms``, ``max_retry_after_s``, ``max_event``: parameter bounds that keep each
      example fast.
    """
    if isinstance(max_faults, bool) or not isinstance(max_faults, int) or max_faults < 0:
        raise FaultkitError(f"max_faults must be 0 or more, got {max_faults!r}")
    if isinstance(min_faults, bool) or not isinstance(min_faults, int) or min_faults < 0:
        raise FaultkitError(f"min_faults must be 0 or more, got {min_faults!r}")
    if min_faults > max_faults:
        raise FaultkitError(f"min_faults ({min_faults}) is more than max_faults ({max_faults})")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise FaultkitError(f"name {name!r} is not a valid scenario name (letters, digits, _.-)")
    limits = Limits(
        max_delay_ms=max_delay_ms, max_retry_after_s=max_retry_after_s, max_event=max_event
    )
    table = _route_table(routes, faults, limits)
    route_order = [route for route, _ in table]
    rule_strategy = _rules_over(table, calls, ranges)
    seeds = st.integers(0, 2**16 - 1) if seed is None else st.just(seed)
    return st.builds(
        lambda items, s: build_plan(
            items, name=name, seed=s, expect=expect, route_order=route_order
        ),
        st.lists(rule_strategy, min_size=min_faults, max_size=max_faults),
        seeds,
    )


__all__ = ["build_plan", "fault_plans", "name_rules", "rules", "whens", "without_overridden"]
