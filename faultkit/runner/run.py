"""Running every (target, scenario, case) cell and judging it.

Each cell gets a fresh engine over its own cassette store (recordings are parsed once and
shared; playback state is per store), so cells never see each other's call counts, and can
run in parallel threads: the engine is pure and every door keeps its own clock origin. Targets
that cannot run in parallel (an HTTP endpoint behind one proxy) run one cell at a time, and
``--processes`` runs cells in worker processes (:mod:`.processes`). One cell, the plan and the
engines are in :mod:`.cells`, which both the threads here and the workers run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from faultkit.runner import repeat
from faultkit.runner.cells import (
    RunPlan,
    engine_factory,
    limit_s,
    load_recordings,
    placeholder_keys,
    run_cell,
)
from faultkit.runner.model import Cell, RuleInfo, RunReport, ScenarioInfo, TargetInfo
from faultkit.runner.processes import run_in_processes
from faultkit.scenario import Scenario

# Importable from here as before: the plan and one cell are what callers of run() build on.
__all__ = [
    "Progress",
    "RunPlan",
    "engine_factory",
    "limit_s",
    "load_recordings",
    "placeholder_keys",
    "run",
    "run_cell",
]

Progress = Callable[[Cell, int, int], None]


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
