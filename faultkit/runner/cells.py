"""One cell of ``faultkit run``: the plan, and running and judging one (target, scenario, case).

What a thread of :func:`faultkit.runner.run.run` and a worker process of
:mod:`faultkit.runner.processes` both run, so it sits below both: the orchestrator imports the
worker pool, and the pool's workers import this, never the orchestrator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from faultkit.cassettes import Cassette, CassetteStore, load_cassette
from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, Playback, cassette_files
from faultkit.engine import Engine
from faultkit.oracle.checks.exercised import scenario_rules
from faultkit.oracle.contract import Contract, grace_ms
from faultkit.oracle.judge import judge
from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.runner.cases import Case
from faultkit.runner.model import Cell, Mode
from faultkit.runner.target import CellSpec, EngineFactory, Execution, Target
from faultkit.scenario import Scenario

Repro = Callable[[str, str, str, int], str]

DEFAULT_LIMIT_S = 120.0
# Replay never sends a request anywhere, but SDKs refuse to start without a key.
PLACEHOLDER_KEYS = {
    "OPENAI_API_KEY": "sk-faultkit-replay",
    "ANTHROPIC_API_KEY": "faultkit-replay",
    "GEMINI_API_KEY": "faultkit-replay",
}


@dataclass
class RunPlan:
    """What to run. ``expected`` maps target name -> scenario -> expected verdict (embedded
    default only). ``repro(target, scenario, case, seed)`` is the command line of one cell.

    ``judge_unfired``: a cell whose scenario's rules applied no fault is ``not_exercised``
    (``faultkit run`` sets it; a search over generated schedules may leave it off, where a
    schedule that fires nothing is simply no finding). ``require_exercised``: such a cell
    fails the run (``--require-exercised``). ``repeat``: seeds per cell (``--repeat``, see
    :mod:`faultkit.runner.repeat`). ``processes``: ``jobs`` worker processes instead of
    threads, each rebuilding this plan with ``rebuild`` (see :mod:`faultkit.runner.processes`).
    """

    mode: Mode
    targets: list[Target]
    scenarios: list[tuple[Path | None, Scenario]]
    cases: list[Case]
    contract: Contract = field(default_factory=Contract)
    cassettes: list[Path] = field(default_factory=list)
    match_on: tuple[str, ...] = APP_MATCH_ON
    ignore_body_fields: tuple[str, ...] = ()
    playback: Playback = APP_PLAYBACK
    seed: int | None = None
    jobs: int = 8
    timing_scale: float = DEFAULT_TIMING_SCALE
    expected: Callable[[str, str], str | None] = lambda target, scenario: None
    repro: Repro = lambda target, scenario, case, seed: ""
    command: str = ""
    judge_unfired: bool = False
    require_exercised: bool = False
    repeat: int = 1
    processes: bool = False
    rebuild: Callable[[], RunPlan] | None = None


def limit_s(contract: Contract, scenario: Scenario) -> tuple[float | None, float]:
    """(deadline in ms, how long the runner waits): the stricter deadline of contract and
    scenario, plus its :func:`grace_ms`; without any deadline, :data:`DEFAULT_LIMIT_S`."""
    deadlines = [d for d in (contract.deadline_ms, scenario.expect.deadline_ms) if d is not None]
    if not deadlines:
        return None, DEFAULT_LIMIT_S
    deadline = min(deadlines)
    return deadline, (deadline + grace_ms(deadline)) / 1000


@contextmanager
def placeholder_keys() -> Iterator[None]:
    """Set the SDKs' API-key variables that are unset, for the duration of a run only."""
    added = [name for name in PLACEHOLDER_KEYS if name not in os.environ]
    for name in added:
        os.environ[name] = PLACEHOLDER_KEYS[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def load_recordings(plan: RunPlan) -> list[Cassette]:
    """The plan's cassettes (files and directories), parsed once for every cell to share."""
    return [load_cassette(p) for p in cassette_files(plan.cassettes)]


def engine_factory(plan: RunPlan, recordings: list[Cassette] | None = None) -> EngineFactory:
    """A function building a fresh :class:`Engine` for one ``(scenario, seed)``.

    Each engine gets its own cassette store over ``recordings`` (default: the plan's cassettes,
    loaded now), matched and played back as the plan says: recordings are parsed
    once and shared, playback state is per engine, so cells never see each other's call counts
    and can run in parallel. Without recordings the engine has no source (faults that answer on
    their own still work)."""
    if recordings is None:
        recordings = load_recordings(plan)

    def build(scenario: Scenario, seed: int) -> Engine:
        store = None
        if recordings:
            store = CassetteStore(
                match_on=plan.match_on,
                playback=plan.playback,
                ignore_body_fields=plan.ignore_body_fields,
            )
            for cassette in recordings:
                store.add_cassette(cassette)
        return Engine(scenario, source=store, seed=seed, timing_scale=plan.timing_scale)

    return build


def run_cell(
    plan: RunPlan,
    target: Target,
    scenario: Scenario,
    case: Case,
    engines: EngineFactory,
    *,
    seed: int | None = None,
) -> Cell:
    """Run one (target, scenario, case) cell and judge it: what :func:`run` does per cell.

    The seed is ``seed`` if given (one of ``--repeat``'s), else the plan's, else the
    scenario's own; the target is called through an engine
    from ``engines`` (see :func:`engine_factory`) and waited for up to :func:`limit_s`; the
    verdict comes from the oracle with the plan's contract. The cell carries the verdict, the
    result, the ledger, the expected verdict and the repro command. ``faultkit explore`` runs
    each generated schedule through this, so a schedule is judged exactly as ``faultkit run``
    judges a scenario file."""
    if seed is None:
        seed = scenario.seed if plan.seed is None else plan.seed
    deadline, wait_s = limit_s(plan.contract, scenario)
    spec = CellSpec(scenario=scenario, seed=seed, case=case, limit_s=wait_s, engine_factory=engines)
    execution: Execution = target.execute(spec)
    verdict = judge(
        execution.entries,
        execution.result,
        plan.contract,
        scenario,
        case=case.name,
        rules=scenario_rules(scenario) if plan.judge_unfired else None,
    )
    repro = plan.repro(target.name, scenario.name, case.name, seed)
    verdict = verdict.model_copy(update={"repro": repro})
    return Cell(
        target=target.name,
        scenario=scenario.name,
        case=case.name,
        seed=seed,
        verdict=verdict,
        result=execution.result,
        ledger=execution.entries,
        started_ms=execution.started_ms,
        deadline_ms=deadline,
        expected=plan.expected(target.name, scenario.name),
        repro=repro,
        require_exercised=plan.require_exercised,
    )
