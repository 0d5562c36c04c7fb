"""The search: a planted weakness is found and shrunk to exactly the faults that cause it; a
robust target yields nothing; distinct weaknesses are reported separately; found schedules
replay first from the example database and are saved as loadable scenario files."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
from _world import run_plan
from hypothesis import strategies as st

from faultkit.errors import FaultkitError
from faultkit.explore import ExploreResult, Found, explore, save_failures
from faultkit.explore.search import merge, part_budgets, part_seed, schedule_name
from faultkit.faults import FAULTS as REGISTRY
from faultkit.faults.http_error import HttpError
from faultkit.scenario import Scenario
from faultkit.strategies import (
    FAULT_STRATEGIES,
    examples_budget,
    fault_plans,
    http_errors,
    summarize,
)
from faultkit.strategies.settings import EXAMPLES_ENV

# 429s carry retry hints of at most 5 ms and latencies are at most 5 ms, so a bot that
# honours them still runs an example in a few milliseconds.
FAULTS = [http_errors(statuses=(429, 503), max_retry_after_s=0.005), "latency", "broken_sse"]
PLANS = fault_plans(
    routes=["openai"], max_faults=4, calls=range(1, 3), faults=FAULTS, max_delay_ms=5
)
SEED = 2


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hypothesis")


@pytest.fixture(scope="module")
def planted(database: Path) -> ExploreResult:
    """One search of the bot with its one planted weakness (shared: a search takes seconds)."""
    return explore(run_plan, PLANS, budget=1000, seed=SEED, database=database, key="planted")


def test_the_planted_weakness_is_found_and_shrunk_to_the_two_faults(planted: ExploreResult):
    """The bot breaks only when a 429 is followed by a broken stream on the retry. Whatever
    else the search threw at it, each finding shrinks to exactly that: a 429 on call 1 and a
    broken stream on call 2."""
    assert planted.failures, f"not found in {planted.examples} examples: {planted.verdicts}"
    for found in planted.failures:
        rules = found.plan.rules
        assert [r.fault.type for r in rules] == ["http_error", "broken_sse"], summarize(found.plan)
        assert rules[0].fault.status == 429
        assert [r.when.nth for r in rules] == [1, 2]
        assert [r.match.route for r in rules] == ["openai", "openai"]
        # A partial answer passed on is truncated_output_accepted (or invalid, when it fails
        # the model); a broken stream that escapes is a crash.
        assert found.verdict.kind in ("crash", "invalid_output_leaked", "truncated_output_accepted")


def test_a_found_schedule_replays_from_its_yaml(planted: ExploreResult) -> None:
    for found in planted.failures:
        again = run_plan(Scenario.from_yaml(found.plan.to_yaml()))
        assert again.kind == found.verdict.kind


def test_the_report_shows_the_schedule_in_words_and_as_yaml(planted: ExploreResult) -> None:
    found = planted.failures[0]
    assert "UNCONTROLLED" in found.report
    assert "minimal failing fault schedule: call 1 of openai → 429" in found.report
    assert "call 2 of openai → " in found.report
    assert "type: broken_sse" in found.report
    assert "scenarios/explored.yaml" in found.report


def test_found_failures_replay_first_from_the_database(database: Path, planted: ExploreResult):
    """A later search (another seed, a budget of 1) starts with what failed before."""
    assert planted.failures
    again = explore(run_plan, PLANS, budget=1, seed=SEED + 1, database=database, key="planted")
    assert {f.verdict.kind for f in again.failures} == {f.verdict.kind for f in planted.failures}
    assert [summarize(f.plan) for f in again.failures] == [
        summarize(f.plan) for f in planted.failures
    ]


def test_a_robust_bot_gives_no_failure() -> None:
    """No false alarms: the same search over the bot without the weakness finds nothing."""
    robust = functools.partial(run_plan, weak_after_429=False)
    result = explore(robust, PLANS, budget=120, seed=SEED)
    assert result.ok, [f.report for f in result.failures]
    assert result.examples == 120
    assert {"pass", "retried", "controlled_error"} <= set(result.verdicts)


def test_each_kind_of_failure_is_shrunk_on_its_own() -> None:
    """A crash on 500 and a retry storm on 503 are two bugs: each gets its own minimal plan."""
    plans = fault_plans(
        routes=["openai"],
        max_faults=3,
        calls=range(1, 3),
        faults=[
            http_errors(statuses=(500, 429), max_retry_after_s=0.005),
            st.just(HttpError(status=503)),
            "latency",
        ],
        max_delay_ms=5,
    )
    bot = functools.partial(run_plan, weak_after_429=False, crash_on_500=True, hurry_on_503=True)
    result = explore(bot, plans, budget=300, seed=SEED)
    by_kind = {f.verdict.kind: f.plan for f in result.failures}
    assert set(by_kind) == {"crash", "retry_storm"}
    assert [(r.fault.type, r.fault.status) for r in by_kind["crash"].rules] == [("http_error", 500)]
    assert [r.fault.status for r in by_kind["retry_storm"].rules] == [503]


def test_found_schedules_are_saved_as_scenario_files(tmp_path: Path, planted: ExploreResult):
    paths = save_failures(planted, tmp_path / "explored", prefix="explored-bot")
    assert len(paths) == len(planted.failures)
    for path, found in zip(paths, planted.failures, strict=True):
        assert re.fullmatch(
            rf"explored-bot-{found.verdict.kind.replace('_', '-')}-[0-9a-f]{{8}}\.yaml", path.name
        )
        loaded = Scenario.load(path)
        assert loaded.rules == found.plan.rules
        assert loaded.name == path.stem
        assert found.path == path
    # the same findings saved again: the same files, overwritten, not piled up
    assert save_failures(planted, tmp_path / "explored", prefix="explored-bot") == paths
    assert len(list((tmp_path / "explored").iterdir())) == len(paths)


def test_two_schedules_of_one_kind_get_two_stable_names(planted: ExploreResult) -> None:
    """Two runs that each found a crash, by different schedules, must not overwrite each
    other's regression file; the same schedule keeps its name whatever it is called."""
    found = planted.failures[0]
    other_rules = [
        r.model_copy(update={"when": r.when.model_copy(update={"nth": 3})})
        for r in found.plan.rules
    ]
    other = Found(found.plan.model_copy(update={"rules": other_rules}), found.verdict, "")
    renamed = Found(
        found.plan.model_copy(update={"name": "x", "description": "y"}), found.verdict, ""
    )
    assert schedule_name("p", found) != schedule_name("p", other)
    assert schedule_name("p", found) == schedule_name("p", renamed)
    assert schedule_name("p", found).startswith(f"p-{found.verdict.kind.replace('_', '-')}-")


def test_parts_of_a_split_search_merge_into_one_failure_per_kind(
    planted: ExploreResult,
) -> None:
    found = planted.failures[0]
    bigger = Found(
        found.plan.model_copy(update={"rules": [*found.plan.rules, *found.plan.rules[:1]]}),
        found.verdict,
        "",
    )
    first = ExploreResult(10, [bigger], 1, {found.verdict.kind: 1, "pass": 9})
    second = ExploreResult(5, [found], 2, {found.verdict.kind: 2, "pass": 3})
    merged = merge([first, second])
    assert merged.examples == 15
    assert merged.verdicts == {found.verdict.kind: 3, "pass": 12}
    assert merged.failures == [found]  # one per kind: the smaller schedule


def test_split_searches_get_their_own_seeds_and_share_the_budget() -> None:
    assert part_seed(7, 0) == 7  # one part is the plain search
    seeds = [part_seed(7, i) for i in range(4)]
    assert len(set(seeds)) == 4 and seeds == [part_seed(7, i) for i in range(4)]
    assert part_budgets(200, 2) == [100, 100]
    assert part_budgets(7, 3) == [3, 2, 2]
    assert part_budgets(2, 5) == [1, 1]  # never a part with nothing to do


def test_a_bad_budget_is_refused() -> None:
    with pytest.raises(FaultkitError, match="budget"):
        explore(run_plan, PLANS, budget=0)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get(EXAMPLES_ENV),
    reason=f"a large search: set {EXAMPLES_ENV}=2000 (and -m slow) to run it",
)
def test_the_weakness_is_found_among_every_fault_faultkit_has() -> None:
    """The same planted weakness, searched for among every fault faultkit has, on calls 1-3,
    with the budget from FAULTKIT_EXAMPLES: still found, still shrunk to the two faults.

    Except the faults that find real weaknesses of this small bot, not the planted one: it
    passes the model's answer on as the stream spelled it, so every fault that makes values
    wrong without a sign (``leaks_values``: a drifted answer that still fits its model, a
    repeated or a late stream event) and an instruction injected into the model's answer
    reach its user. The search found them as the fault set grew (the last when
    reorder_sse_event joined and changed what it drew).
    """
    unfair = {n for n, fault in REGISTRY.items() if fault.leaks_values} | {"injection"}
    plans = fault_plans(
        routes=["openai"],
        max_faults=4,
        faults=[name for name in FAULT_STRATEGIES if name not in unfair],
        max_delay_ms=5,
        max_retry_after_s=0.005,
    )
    result = explore(run_plan, plans, budget=examples_budget(), seed=SEED)
    assert result.failures, result.verdicts
    for found in result.failures:
        types = [r.fault.type for r in found.plan.rules]
        assert len(types) == 2 and types[0] == "http_error", summarize(found.plan)
        assert found.plan.rules[0].fault.status == 429
