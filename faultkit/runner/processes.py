"""``faultkit run --processes``: cells in worker processes, for a target threads cannot run.

By default ``--jobs N`` runs cells in N threads of one process: cheap, and right for a target
that keeps its state per call. A target with process-wide state (a module global holding the
current request, a client or cache that is not thread-safe, ``os.environ`` edits, a C library
that holds the GIL) gives wrong verdicts when two cells share a process. With
``--processes`` each of N worker processes runs one cell at a time.

A worker gets no pickled plan (targets are functions, the plan holds callables): it rebuilds
the plan from the same command-line arguments (``rebuild``, a picklable
``functools.partial``), once, when it starts, and is sent (target, scenario, case) indices and a
seed; it checks the names at those indices, runs the cell through the same
:func:`~faultkit.runner.cells.run_cell` as a thread would, and returns the cell as JSON (the
target's own return value may be an object only its module knows; the verdict is already
made). Workers start from a ``forkserver`` (``spawn`` where there is none), never by forking
this process: a fork of a process running threads can inherit a held lock.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from faultkit.runner.cells import RunPlan, engine_factory, run_cell
from faultkit.runner.errors import RunError
from faultkit.runner.model import Cell

if TYPE_CHECKING:
    from faultkit.runner.target import EngineFactory

# (target index, scenario index, case index, seed) in the plan.
Task = tuple[int, int, int, int]

_worker: dict[str, Any] = {}


def _start(rebuild: Callable[[], RunPlan], environ: dict[str, str]) -> None:
    """Worker start: this run's environment, then the plan and its engine factory (recordings
    parsed once per worker). The environment is sent, not inherited: a worker forks from the
    fork server, whose environment is the one of the first run that started it (a later run in
    the same process may have set other variables, the SDK key placeholders among them)."""
    os.environ.clear()
    os.environ.update(environ)
    # Ctrl-C reaches every process of the terminal's group: the parent decides what it stops
    # (it ends the workers); a worker that caught it would only fail its cell and go on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    plan = rebuild()
    _worker["plan"] = plan
    _worker["engines"] = engine_factory(plan)


def _one(task: Task, names: tuple[str, str, str]) -> dict[str, Any]:
    plan: RunPlan = _worker["plan"]
    engines: EngineFactory = _worker["engines"]
    ti, si, ci, seed = task
    target, scenario, case = plan.targets[ti], plan.scenarios[si][1], plan.cases[ci]
    if (target.name, scenario.name, case.name) != names:  # the rebuilt plan must be the same
        raise RuntimeError(f"worker plan differs: {names} at {(ti, si, ci)}")
    cell = run_cell(plan, target, scenario, case, engines, seed=seed)
    return cell.model_dump(mode="json")


def _names(plan: RunPlan, task: Task) -> tuple[str, str, str]:
    ti, si, ci, _ = task
    return plan.targets[ti].name, plan.scenarios[si][1].name, plan.cases[ci].name


# Imported once in the fork server: faultkit and the SDKs most targets import (one not
# installed is skipped). Never the targets' own modules: the server outlives one run, and a
# second run in the same process (tests, a notebook) would fork workers holding the first
# run's copy of a module of the same name.
PRELOAD = ["faultkit.runner.command", "faultkit.runner.processes", "openai", "anthropic"]


def _context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where there is one (Linux, macOS): workers fork from a clean server that
    imported :data:`PRELOAD` once, so each starts in a fraction of the 1-2 s a fresh
    interpreter needs for them; ``spawn`` elsewhere."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def run_in_processes(
    plan: RunPlan, tasks: list[Task], on_done: Callable[[int, Cell], None]
) -> None:
    """Run ``tasks`` in ``plan.jobs`` worker processes; ``on_done(i, cell)`` for the i-th task
    as it completes (in the calling thread). A worker that dies (a target calling
    ``os._exit``, a crash in C code) ends the run with a one-line :class:`RunError`: every
    cell still running in the pool is lost with it, so no cell can be named."""
    if plan.rebuild is None:
        raise ValueError("--processes needs plan.rebuild")
    context = _context()
    workers = max(1, min(plan.jobs, len(tasks)))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start,
        initargs=(plan.rebuild, dict(os.environ)),
    )
    try:
        futures = {pool.submit(_one, t, _names(plan, t)): i for i, t in enumerate(tasks)}
        for future in as_completed(futures):
            try:
                data = future.result()
            except BrokenProcessPool:
                raise RunError(
                    "a worker process died (did the target end its process, or crash in C "
                    "code?); rerun with --processes --jobs 1 and -q off to see which cell"
                ) from None
            on_done(futures[future], Cell.model_validate(data))
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the pool now (Ctrl-C, a dead worker): drop the queued cells and end the workers
    running one, rather than wait up to a cell's deadline. ``terminate_workers`` is public
    from Python 3.14; before, the pool's process table is the only handle (taken before
    ``shutdown``, which forgets it)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
