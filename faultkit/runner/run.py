"""Running every (target, scenario, case) cell and judging it.

Each cell gets a fresh engine over its own cassette store (recordings are parsed once and
shared; playback state is per store), so cells never see each other's call counts, and can
run in parallel threads: the engine is pure and every door keeps its own clock origin. Targets
that cannot run in parallel (an HTTP endpoint behind one proxy) run one cell at a time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from faultkit.cassettes import Cassette, CassetteStore, load_cassette
from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, Playback, cassette_files
from faultkit.engine import Engine
from faultkit.oracle.checks.exercised import scenario_rules
from faultkit.oracle.contract import Contract, grace_ms
from faultkit.oracle.judge import judge
from faultkit.runner import repeat
from faultkit.runner.cases import Case
from faultkit.runner.model import Cell, Mode, RuleInfo, RunReport, ScenarioInfo, TargetInfo
from faultkit.runner.target import CellSpec, EngineFactory, Execution, Target
from faultkit.scenario import Scenario

Repro = Callable[[str, str, str, int], str]
Progress = Callable[[Cell, int, int], None]

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
    timing_scale: float = 1.0
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


def _version() -> str:
    try:
        return metadata.version("faultkit")
    except metadata.PackageNotFoundError:
        return "unknown"


def _scenario_info(path: Path | None, scenario: Scenario) -> ScenarioInfo:
    return ScenarioInfo(
        name=scenario.name,
        file=str(path) if path is not None else None,
        seed=scenario.seed,
        description=" ".join(scenario.description.split()),
        rules=[
            RuleInfo(
                name=scenario.rule_label(i),
                fault=rule.fault.type,
                route=rule.match.route,
                match=rule.match.model_dump(mode="json", exclude_defaults=True),
                params=rule.fault.params(),
            )
            for i, rule in enumerate(scenario.rules)
        ],
        allowed=list(scenario.expect.outcomes),
        deadline_ms=scenario.expect.deadline_ms,
        max_attempts=scenario.expect.max_attempts,
    )


def run(plan: RunPlan, progress: Progress | None = None) -> RunReport:
    """Run every cell of ``plan``, judge it, and return the report (cells in plan order).

    With ``plan.repeat`` N > 1 each cell runs under N seeds (:func:`repeat.seeds`), every run
    a job of its own (``progress`` sees each), merged afterwards into one cell per (target,
    scenario, case) by :func:`repeat.merge`."""
    started = time.monotonic()
    report = RunReport(
        faultkit_version=_version(),
        mode=plan.mode,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        command=plan.command,
        targets=[
            TargetInfo(
                name=t.name,
                ref=t.ref,
                kind=t.kind,
                contract=plan.contract.model_dump(mode="json", exclude_defaults=True),
            )
            for t in plan.targets
        ],
        scenarios=[_scenario_info(p, s) for p, s in plan.scenarios],
        cases=[c.name for c in plan.cases],
        repeat=plan.repeat,
    )
    engines = engine_factory(plan)

    # (target, scenario, case, seed) as indices into the plan: what a worker process is sent.
    jobs: list[tuple[int, int, int, int]] = [
        (ti, si, ci, seed)
        for ti in range(len(plan.targets))
        for si, (_, scenario) in enumerate(plan.scenarios)
        for ci in range(len(plan.cases))
        for seed in repeat.seeds(scenario.seed if plan.seed is None else plan.seed, plan.repeat)
    ]
    cells: list[Cell | None] = [None] * len(jobs)
    done = 0
    lock = threading.Lock()

    def one(index: int) -> None:
        ti, si, ci, seed = jobs[index]
        target, scenario, case = plan.targets[ti], plan.scenarios[si][1], plan.cases[ci]
        finished(index, run_cell(plan, target, scenario, case, engines, seed=seed))

    def finished(index: int, cell: Cell) -> None:
        nonlocal done
        with lock:  # one progress line at a time, counted in completion order
            cells[index] = cell
            done += 1
            if progress is not None:
                progress(cell, done, len(jobs))

    parallel = [i for i, job in enumerate(jobs) if plan.targets[job[0]].parallel]
    serial = [i for i, job in enumerate(jobs) if not plan.targets[job[0]].parallel]
    with placeholder_keys():
        if parallel and plan.processes:
            from faultkit.runner.processes import run_in_processes

            tasks = [jobs[i] for i in parallel]
            run_in_processes(plan, tasks, lambda i, cell: finished(parallel[i], cell))
        elif parallel:
            pool = ThreadPoolExecutor(max_workers=max(1, plan.jobs))
            try:
                for future in [pool.submit(one, i) for i in parallel]:
                    future.result()
            finally:  # on Ctrl-C, the cells not started yet are dropped, not run
                pool.shutdown(wait=True, cancel_futures=True)
        for i in serial:
            one(i)
    done_cells = [c for c in cells if c is not None]
    if plan.repeat > 1:  # jobs are grouped by cell, seeds consecutive
        done_cells = [
            repeat.merge(done_cells[i : i + plan.repeat])
            for i in range(0, len(done_cells), plan.repeat)
        ]
    report.cells = done_cells
    report.duration_s = round(time.monotonic() - started, 3)
    return report


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
