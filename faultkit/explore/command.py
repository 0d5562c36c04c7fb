"""``faultkit explore TARGET``: the search from the command line.

The target, its cases, contract and cassettes are loaded exactly as ``faultkit run`` loads them
(a ``package.module:function``, an ``http(s)://`` endpoint behind ``--proxy``, or a bundled
example app by name: ``robust``, ``naive``), and every generated schedule runs as one ``faultkit
run`` cell. Routes default to the hosts the cassettes recorded. Each minimal failing schedule is
written as a scenario file (``--scenarios-out``, default ``.faultkit/explored``) and printed with
the ``faultkit run`` command that reproduces it.

Exit 0 when no schedule left the target uncontrolled, 1 when some did, 2 for a user mistake.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from faultkit.errors import FaultkitError
from faultkit.explore.search import DATABASE_DIR, DEFAULT_BUDGET, ExploreResult, readable
from faultkit.faults import FAULTS
from faultkit.report.rich_view import Bar, progress_bar
from faultkit.runner.options import add_replay_options, cassette_paths, replay_args
from faultkit.scenario import Scenario

DEFAULT_OUT = Path(".faultkit") / "explored"
PROGRESS_EVERY = 10


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``explore`` on the ``faultkit`` sub-command parser."""
    parser = commands.add_parser(
        "explore",
        help="search fault schedules for the ones the target does not survive (hypothesis)",
        description="Generate fault schedules, run the target under each, judge it, and shrink "
        "every schedule that leaves it uncontrolled to the fewest, plainest faults. Minimal "
        "schedules are saved as scenario files; failures found before are replayed first.",
    )
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="package.module:function, an http(s):// endpoint (with --proxy), or a bundled "
        "example app: robust, naive",
    )
    add_replay_options(parser, cassettes_help="cassette file or directory to replay")
    parser.add_argument(
        "--budget",
        type=int,
        default=DEFAULT_BUDGET,
        metavar="N",
        help=f"schedules to try (default {DEFAULT_BUDGET}); shrinking comes on top",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="search seed (default: a new one)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="N independent searches in worker processes, the budget shared between them, "
        "seeds derived from the search seed; findings merged, one per verdict kind (default 1)",
    )
    parser.add_argument(
        "--routes",
        nargs="+",
        metavar="ROUTE",
        help="routes (globs) to put faults on (default: the hosts in the cassettes)",
    )
    parser.add_argument(
        "--faults",
        nargs="+",
        metavar="FAULT",
        help=f"fault types to try (default: all): {', '.join(sorted(FAULTS))}",
    )
    parser.add_argument(
        "--max-faults", type=int, default=4, metavar="N", help="faults per schedule (default 4)"
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=3,
        metavar="N",
        help="faults go on calls 1..N of a route (default 3)",
    )
    parser.add_argument(
        "--max-delay-ms",
        type=int,
        default=2000,
        metavar="MS",
        help="longest latency, stall or timeout tried (default 2000)",
    )
    parser.add_argument(
        "--max-retry-after-s",
        type=float,
        default=2.0,
        metavar="S",
        help="longest retry-after an HTTP error asks for (default 2)",
    )
    parser.add_argument(
        "--scenarios-out",
        default=str(DEFAULT_OUT),
        metavar="DIR",
        help=f"where minimal failing schedules are written (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--database",
        default=str(DATABASE_DIR),
        metavar="DIR",
        help=f"hypothesis example database (default {DATABASE_DIR})",
    )
    parser.add_argument("--no-database", action="store_true", help="keep no example database")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON (schedules tried, verdict counts, each failure's "
        "verdict, saved scenario and repro command) instead of the reports",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=main)
    return parser


# -- the target, as `faultkit run` loads it ------------------------------------------------------
class _Setup:
    """Target, cases, contract and cassettes, and the command prefix that re-runs the target."""

    def __init__(self, args: argparse.Namespace) -> None:
        from faultkit.runner import bundled
        from faultkit.runner.cases import CasesFile, load_cases
        from faultkit.runner.errors import RunError
        from faultkit.runner.target import load_callable, load_target

        self.run_args: list[str] = ["faultkit", "run"]
        if args.target in bundled.APPS:
            bundled.ensure_importable()
            cases_file = load_cases(args.cases or bundled.cases_path())
            self.target = load_callable(bundled.APPS[args.target], args.target)
            self.run_args += ["--app", args.target]
        else:
            cases_file = load_cases(args.cases) if args.cases else CasesFile()
            ref = args.target or cases_file.target
            if ref is None:
                raise RunError(
                    "give a TARGET (package.module:function, a URL with --proxy, or one of "
                    f"{', '.join(sorted(bundled.APPS))}), or a --cases file that names one"
                )
            self.target = load_target(ref, proxy=args.proxy)
            self.run_args.append(ref)
        self.cases = cases_file.select(args.case or [])
        self.target.check_cases(self.cases)
        self.cases_file = cases_file
        self.cassettes = cassette_paths(cases_file, args)
        self.run_args += replay_args(args)
        self.run_args += [a for c in args.case or [] for a in ("--case", c)]

    def repro(self, path: Path) -> str:
        return shlex.join([*self.run_args, "--scenarios", str(path)])


def routes_of(recordings: list[Any]) -> list[str]:
    """The routes the recorded requests took, providers first, each once."""
    from faultkit.doors.timeline import KNOWN_ROUTES, route_for_host

    seen: dict[str, None] = {}
    for cassette in recordings:
        for interaction in cassette.interactions:
            host = urlsplit(interaction.request.url).hostname
            if host:
                seen.setdefault(route_for_host(host), None)
    providers = set(KNOWN_ROUTES.values())
    return sorted(seen, key=lambda route: route not in providers)


def _plan(args: argparse.Namespace, setup: _Setup) -> tuple[Any, list[Any]]:
    """The run plan a trial runs its cells in, and the recordings it replays."""
    from faultkit.runner.cells import RunPlan, load_recordings

    plan = RunPlan(
        mode="target",
        targets=[setup.target],
        scenarios=[],
        cases=setup.cases,
        contract=setup.cases_file.contract,
        cassettes=setup.cassettes,
        match_on=tuple(setup.cases_file.match_on),
        ignore_body_fields=tuple(setup.cases_file.ignore_body_fields),
        timing_scale=args.timing_scale,
    )
    return plan, load_recordings(plan)


def _trial(
    args: argparse.Namespace,
    setup: _Setup,
    plan: Any,
    recordings: list[Any],
    err: TextIO,
    label: str,
    bar: Bar | None = None,
) -> Any:
    """The per-schedule trial: every case, as one `faultkit run` cell each. Progress: a line
    every PROGRESS_EVERY schedules, or ``bar`` (a terminal with rich, one process)."""
    from faultkit.runner.cells import engine_factory, run_cell

    engines = engine_factory(plan, recordings)
    counts: dict[str, int] = {}
    tried = [0]
    started = time.monotonic()

    def trial(scenario: Scenario) -> Any:
        verdict = None
        for case in setup.cases:
            verdict = run_cell(plan, setup.target, scenario, case, engines).verdict
            if not verdict.ok:
                break
        assert verdict is not None
        tried[0] += 1
        counts[verdict.kind] = counts.get(verdict.kind, 0) + 1
        if bar is not None:
            bar.advance(", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
        elif not args.quiet and tried[0] % PROGRESS_EVERY == 0:
            tally = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
            elapsed = time.monotonic() - started
            print(f"[{label}{tried[0]} schedules, {elapsed:.0f} s] {tally}", file=err, flush=True)
        return verdict

    return trial


def _search(
    args: argparse.Namespace,
    setup: _Setup,
    err: TextIO,
    *,
    seed: int,
    budget: int,
    targeted: bool,
    label: str = "",
    loaded: tuple[Any, list[Any]] | None = None,
    bar: Bar | None = None,
) -> ExploreResult:
    """One search of ``budget`` schedules from ``seed``: the whole of ``faultkit explore``,
    or one part of it in a worker process (``--jobs``)."""
    from faultkit.explore.search import explore
    from faultkit.runner.cells import placeholder_keys
    from faultkit.strategies import fault_plans

    plan, recordings = loaded or _plan(args, setup)
    routes = args.routes or routes_of(recordings)
    strategy = fault_plans(
        routes=routes or None,
        max_faults=args.max_faults,
        faults=args.faults,
        calls=args.calls,
        name=_prefix(setup),
        max_delay_ms=args.max_delay_ms,
        max_retry_after_s=args.max_retry_after_s,
    )
    key = "|".join([setup.target.ref, *(c.name for c in setup.cases)])
    with placeholder_keys():
        return explore(
            _trial(args, setup, plan, recordings, err, label, bar),
            strategy,
            budget=budget,
            seed=seed,
            database=None if args.no_database else args.database,
            key=key,
            targeted=targeted,
        )


def _prefix(setup: _Setup) -> str:
    return f"explored-{readable(setup.target.name)}"


# -- parts in worker processes (--jobs) --------------------------------------------------------
# Hypothesis runs one search at a time per process (its engine state is global), and a trial
# mostly waits (faults' delays, the app's backoffs), so parallel searches go in processes, and
# more of them than cores still help. Each worker is an independent search with a seed derived
# from the search seed (part_seed) and its share of the budget; the parent merges what they
# found, one failure per verdict kind, the smallest. Independent searches rather than one
# search's examples farmed out: hypothesis generates, targets and shrinks each example from the
# results before it, so only whole searches split without changing what each one does.


def _part(
    options: dict[str, Any],
    cwd: str,
    environ: dict[str, str],
    seed: int,
    budget: int,
    targeted: bool,
    label: str,
) -> dict[str, Any]:
    """One part of the search, in a worker process: the target loaded again from the same
    options (as ``faultkit run --processes`` rebuilds its plan), the result returned as JSON
    (the verdicts are made; a target's own values stay in the worker)."""
    import os
    import signal
    import sys

    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environ)
    # Ctrl-C reaches every process of the group: the parent decides and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = argparse.Namespace(**options)
    setup = _Setup(args)
    found = _search(
        args, setup, sys.stderr, seed=seed, budget=budget, targeted=targeted, label=label
    )
    return {
        "examples": found.examples,
        "verdicts": found.verdicts,
        "seed": seed,
        "failures": [
            {
                "plan": f.plan.model_dump(mode="json"),
                "verdict": f.verdict.model_dump(mode="json"),
                "report": f.report,
                "reproduced": f.reproduced,
            }
            for f in found.failures
        ],
    }


def _from_json(data: dict[str, Any]) -> ExploreResult:
    from faultkit.explore.search import Found
    from faultkit.oracle import Verdict

    failures = [
        Found(
            Scenario.model_validate(f["plan"]),
            Verdict.model_validate(f["verdict"]),
            f["report"],
            reproduced=f["reproduced"],
        )
        for f in data["failures"]
    ]
    return ExploreResult(data["examples"], failures, data["seed"], data["verdicts"])


def _in_processes(args: argparse.Namespace, seed: int) -> ExploreResult:
    """``--jobs N``: N parts in N worker processes, merged (see the note above)."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from faultkit.explore.search import TARGETED_FROM, merge, part_budgets, part_seed
    from faultkit.runner.processes import _context, _stop

    budgets = part_budgets(args.budget, args.jobs)
    targeted = args.budget >= TARGETED_FROM
    plain = (str, int, float, bool, list, tuple, type(None))
    options = {k: v for k, v in vars(args).items() if isinstance(v, plain)}
    pool = ProcessPoolExecutor(max_workers=len(budgets), mp_context=_context())
    try:
        futures = [
            pool.submit(
                _part,
                options,
                os.getcwd(),
                dict(os.environ),
                part_seed(seed, i),
                budget,
                targeted,
                "" if args.quiet else f"part {i + 1}/{len(budgets)}: ",
            )
            for i, budget in enumerate(budgets)
        ]
        parts = [_from_json(future.result()) for future in futures]
    except BrokenProcessPool:
        _stop(pool)
        raise FaultkitError(
            "a search worker process died (did the target end its process, or crash in C "
            "code?); rerun with --jobs 1 to see which schedule"
        ) from None
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    return merge(parts)


# -- running ---------------------------------------------------------------------------------------
def main(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise FaultkitError(
            "faultkit explore needs hypothesis: pip install hypothesis (or faultkit[dev])"
        ) from None
    from faultkit.explore.search import TARGETED_FROM, part_budgets, save_failures
    from faultkit.runner.command import EXIT_INTERRUPTED
    from faultkit.strategies import fault_plans

    for name, value, least in (
        ("--budget", args.budget, 1),
        ("--calls", args.calls, 1),
        ("--jobs", args.jobs, 1),
    ):
        if value < least:
            raise FaultkitError(f"{name} must be at least {least}, got {value}")
    setup = _Setup(args)
    loaded = _plan(args, setup)
    routes = args.routes or routes_of(loaded[1])
    # Built here too, so a bad --faults is one line before any worker starts.
    fault_plans(routes=routes or None, faults=args.faults, calls=args.calls)
    prefix = _prefix(setup)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    jobs = len(part_budgets(args.budget, args.jobs))
    if not args.quiet:
        where = ", ".join(routes) if routes else "any route"
        split = f" in {jobs} parallel searches" if jobs > 1 else ""
        print(
            f"faultkit explore: {setup.target.name} x {len(setup.cases)} case(s), faults on "
            f"{where}, budget {args.budget}{split}, seed {seed}",
            file=err,
            flush=True,
        )
    started = time.monotonic()
    try:
        if jobs > 1:
            result = _in_processes(args, seed)
        else:
            targeted = args.budget >= TARGETED_FROM
            # On a terminal with rich, a bar over the budget (schedules past it are
            # hypothesis shrinking a failure: the bar stays full). Workers keep their lines.
            bar = None if args.quiet else progress_bar(err, "schedules", args.budget)
            try:
                result = _search(
                    args,
                    setup,
                    err,
                    seed=seed,
                    budget=args.budget,
                    targeted=targeted,
                    loaded=loaded,
                    bar=bar,
                )
            finally:
                if bar is not None:
                    bar.close()
    except KeyboardInterrupt:
        # The workers are ended already (_in_processes); hypothesis's database keeps what
        # failed so far, so the next search replays it first.
        print("faultkit explore: interrupted; no schedule saved", file=err)
        return EXIT_INTERRUPTED
    result.seed = seed
    paths = save_failures(result, args.scenarios_out, prefix=prefix)
    if args.json:
        summary = _summary(result, paths, setup.repro, seed, time.monotonic() - started)
        summary["jobs"] = jobs
        print(json.dumps(summary, indent=2, ensure_ascii=False), file=out)
        return 0 if result.ok else 1
    _print(result, paths, setup.repro, out)
    tally = ", ".join(f"{k} {n}" for k, n in sorted(result.verdicts.items())) or "none"
    split = f" in {jobs} parallel searches" if jobs > 1 else ""
    print(
        f"explored {result.examples} schedule(s){split} in {time.monotonic() - started:.1f} s "
        f"({tally}); search seed {seed}",
        file=out,
    )
    return 0 if result.ok else 1


def _summary(
    result: ExploreResult,
    paths: list[Path],
    repro: Callable[[Path], str],
    seed: int,
    seconds: float,
) -> dict[str, Any]:
    """What ``--json`` prints: the same facts as the reports, for a script."""
    return {
        "seed": seed,
        "schedules": result.examples,
        "seconds": round(seconds, 3),
        "verdicts": dict(sorted(result.verdicts.items())),
        "failures": [
            {
                "verdict": found.verdict.kind,
                "explanation": found.verdict.explain(),
                "scenario": str(path),
                "reproduced": found.reproduced,
                "repro": repro(path),
            }
            for found, path in zip(result.failures, paths, strict=True)
        ],
    }


def _print(
    result: ExploreResult, paths: list[Path], repro: Callable[[Path], str], out: TextIO
) -> None:
    from faultkit.strategies.describe import failure_report

    if not result.failures:
        print("no schedule left the target uncontrolled", file=out)
        return
    print(f"{len(result.failures)} kind(s) of uncontrolled outcome found:", file=out)
    for found, path in zip(result.failures, paths, strict=True):
        print(file=out)
        if not found.reproduced:
            print(
                "note: re-running this schedule gave another verdict: the outcome depends on "
                "timing; run the saved scenario a few times to confirm it",
                file=out,
            )
        report = failure_report(
            Scenario.load(path),
            repro=repro(path),
            verdict=found.verdict.explain(),
            save_as=str(path),
            saved=True,
        )
        print(report, file=out)
    print(file=out)
