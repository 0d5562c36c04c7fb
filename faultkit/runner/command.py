"""``faultkit run``: options in, a verdict matrix, reports and an exit code out.

Two modes:

* **embedded default** (no TARGET, or ``--app robust|naive``): the bundled example apps on the
  bundled catalogue, from bundled cassettes. Exit 0 when the matrix is the expected one (see
  :mod:`faultkit.runner.bundled`): the naive app is meant to fail, so its uncontrolled verdicts
  are part of the expected matrix, not a failure of the run.
* **a target** (``faultkit run TARGET``, or the ``target:`` of ``--cases``): exit 1 when any
  verdict is uncontrolled, or controlled but not an outcome its scenario allows.

Either way a cell whose scenario applied no fault is ``not_exercised``, never ``pass``: shown,
counted apart, and failing the run only with ``--require-exercised``. A cell faultkit could not
run as written (a request with no recording) is a ``harness_error``, listed apart from the
target's verdicts with what to record, and fails the run.

The nightly options: ``--repeat N`` runs each cell under N seeds and reports the worst run as
the cell's verdict (:mod:`faultkit.runner.repeat`), so the rules above apply to it unchanged.
``--compare PREVIOUS/report.json`` *replaces* the rule above: exit 1 only for a regression
since that run (a newly uncontrolled verdict, a cell that fails now and passed then, a new
cell that fails), 0 otherwise, failures carried over included; why, in
:mod:`faultkit.runner.compare`.

Exit 2 for a user mistake (bad target, missing file, unknown scenario or case, an unreadable or
foreign ``--compare`` report), printed on one line, before anything runs. Progress goes to
stderr; the matrix, the repro lines and the report paths to stdout.
"""

from __future__ import annotations

import argparse
import functools
import os
import shlex
from pathlib import Path
from typing import Any, TextIO

import yaml

from faultkit import catalogue, yamlfile
from faultkit.report import json as report_json
from faultkit.report import scrubbed, terminal, write_reports
from faultkit.report.rich_view import Bar, progress_bar
from faultkit.runner import bundled, compare
from faultkit.runner.cases import CasesFile, load_cases
from faultkit.runner.errors import RunError
from faultkit.runner.model import Cell, RunReport
from faultkit.runner.options import add_replay_options, cassette_paths, replay_args
from faultkit.runner.run import RunPlan, run
from faultkit.runner.target import Target, load_callable, load_target

DEFAULT_REPORT = "faultkit-report"
DEFAULT_JOBS = 16
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``run`` on the ``faultkit`` sub-command parser."""
    parser = commands.add_parser(
        "run",
        help="run scenarios against a target (default: the bundled example apps) and judge",
        description="Run every scenario x case against the target, judge each run with the "
        "oracle, print the verdict matrix and write reports. With no TARGET: the bundled "
        "catalogue against the bundled example apps, offline.",
    )
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="package.module:function, or an http(s):// endpoint (with --proxy)",
    )
    parser.add_argument(
        "--app",
        action="append",
        choices=sorted(bundled.APPS),
        help="a bundled example app (repeatable; default: both)",
    )
    parser.add_argument(
        "--scenarios",
        action="append",
        metavar="PATH",
        help="scenario file or directory, or 'derived' (derived from the cassettes) or "
        "'catalogue' (the bundled one); repeatable, they combine. Default: derived when the "
        "cases file or --cassettes names cassettes, else ./scenarios and the catalogue; the "
        "bundled catalogue for the example apps",
    )
    parser.add_argument(
        "--scenario", action="append", metavar="NAME", help="only this scenario (repeatable)"
    )
    add_replay_options(
        parser,
        cassettes_help="cassette file or directory to replay (repeatable; adds to the cases "
        "file's)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed for every scenario")
    parser.add_argument("--report", default=DEFAULT_REPORT, metavar="DIR", help="report directory")
    parser.add_argument("--no-report", action="store_true", help="write no report files")
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help=f"cells run in parallel: threads (default {DEFAULT_JOBS}; 1 for a target that "
        "cannot be called concurrently), or with --processes worker processes (default: "
        "the number of CPUs)",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="run cells in --jobs worker processes, one cell at a time each, instead of "
        "threads: for a target with process-wide state that threads would share",
    )
    parser.add_argument(
        "--require-exercised",
        action="store_true",
        help="fail the run when a scenario applied no fault to a cell (not_exercised); by "
        "default such cells are reported but do not fail the run",
    )
    parser.add_argument(
        "--compare",
        metavar="REPORT_JSON",
        help="compare with a previous run's report.json (or its report directory): print and "
        "report what changed (new "
        "uncontrolled verdicts first, fixed ones, newly not exercised...); the exit code is "
        "then 1 only for a regression, 0 otherwise",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each cell under N seeds (the scenario's, then the next N-1) and flag cells "
        "whose verdict changes with the seed; a cell's verdict is its worst run's",
    )
    parser.add_argument(
        "--otlp-port",
        type=int,
        metavar="N",
        help="serve an OTLP/HTTP trace collector on 127.0.0.1:N and judge an http(s):// "
        "target's OpenTelemetry GenAI spans as its decision trace (faultkit[otel]; point the "
        "app's OTEL_EXPORTER_OTLP_ENDPOINT at http://127.0.0.1:N)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the report (report.json's document) on stdout instead of the matrix, for "
        "scripts; progress and the reports line go to stderr",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=main)
    return parser


# -- building the plan ---------------------------------------------------------------------------


def _default_scenario_paths() -> list[str]:
    return [str(d) for d in catalogue.search_dirs()]


def _plan(args: argparse.Namespace) -> tuple[RunPlan, list[str], str]:
    """The plan, the arguments every repro command repeats (scenarios, cases, ...), and where
    its scenarios come from.

    A target's scenarios, with no ``--scenarios``, are those derived from its cassettes (its
    own traffic), else ``./scenarios`` and the catalogue; a repro command repeats the same
    options, so a derived scenario is derived again and found by name."""
    embedded = args.target is None and (args.app or not _cases_target(args.cases))
    if args.target is not None and args.app:
        raise RunError("give either TARGET or --app, not both")
    if args.jobs is not None and args.jobs < 1:
        raise RunError("--jobs must be at least 1")
    if args.repeat < 1:
        raise RunError("--repeat must be at least 1")
    common: list[str] = []
    if embedded:
        bundled.ensure_importable()
        cases_file = load_cases(args.cases or bundled.cases_path())
        names = list(dict.fromkeys(args.app or bundled.APPS))
        targets: list[Target] = [load_callable(bundled.APPS[n], n) for n in names]
        paths = args.scenarios or [str(bundled.scenarios_dir())]
    else:
        cases_file = load_cases(args.cases) if args.cases else CasesFile()
        ref = args.target or cases_file.target
        assert ref is not None
        targets = [load_target(ref, proxy=args.proxy)]
        paths = args.scenarios or _default_scenario_paths()
    cases = cases_file.select(args.case or [])
    for target in targets:
        target.check_cases(cases)
    cassettes = cassette_paths(cases_file, args)
    if not embedded and not args.scenarios and cassettes:
        paths = [catalogue.DERIVED]
    if not paths:
        raise RunError("no scenarios: give --scenarios DIR (no ./scenarios, no catalogue)")
    chosen = catalogue.scenario_set(
        paths, cassettes, args.scenario or [], cases_file.contract.deadline_ms
    )
    if args.scenarios:
        common += [a for p in args.scenarios for a in ("--scenarios", p)]
    common += replay_args(args)
    if args.require_exercised:
        common.append("--require-exercised")

    plan = RunPlan(
        mode="embedded" if embedded else "target",
        targets=targets,
        scenarios=chosen.scenarios,
        cases=cases,
        contract=cases_file.contract,
        cassettes=cassettes,
        match_on=tuple(cases_file.match_on),
        ignore_body_fields=tuple(cases_file.ignore_body_fields),
        playback=cases_file.playback,
        seed=args.seed,
        jobs=args.jobs or ((os.cpu_count() or 1) if args.processes else DEFAULT_JOBS),
        timing_scale=args.timing_scale,
        expected=bundled.expected_verdict if embedded else (lambda t, s: None),
        command=_command_line(args, common),
        judge_unfired=True,
        require_exercised=args.require_exercised,
        repeat=args.repeat,
        processes=args.processes,
        rebuild=functools.partial(worker_plan, _options(args)) if args.processes else None,
    )
    return plan, common, chosen.origin


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as plain values a worker process can be sent (the namespace also
    holds the sub-command's ``run`` function and the CLI's parser, which it does not need)."""
    plain = (str, int, float, bool, list, tuple, type(None))
    return {k: v for k, v in vars(args).items() if isinstance(v, plain)}


def worker_plan(options: dict[str, Any]) -> RunPlan:
    """The plan a ``--processes`` worker runs: built again from the same options, with the
    same repro commands (see :mod:`faultkit.runner.processes`)."""
    args = argparse.Namespace(**options)
    plan, common, _ = _plan(args)
    plan.repro = repro_command(plan, common, None if args.no_report else args.report)
    return plan


def _cases_target(path: str | None) -> bool:
    """Whether the cases file names a target (read without validating it: validating the
    contract imports the target's modules, which the embedded mode must set up first)."""
    if path is None:
        return False
    try:
        data = yamlfile.load(Path(path).read_text(encoding="utf-8"))[0]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, yamlfile.YamlRefused):
        return False  # load_cases reports the problem properly
    return isinstance(data, dict) and bool(data.get("target"))


def _command_line(args: argparse.Namespace, common: list[str]) -> str:
    argv = ["faultkit", "run"]
    argv += [args.target] if args.target else [a for n in args.app or [] for a in ("--app", n)]
    argv += common
    argv += [a for n in args.scenario or [] for a in ("--scenario", n)]
    argv += [a for n in args.case or [] for a in ("--case", n)]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.repeat > 1:
        argv += ["--repeat", str(args.repeat)]
    if args.compare:
        argv += ["--compare", args.compare]
    return shlex.join(argv)


def repro_command(plan: RunPlan, common: list[str], report_dir: str | None) -> Any:
    """``repro(target, scenario, case, seed)``: the command that re-runs exactly one cell
    (same target, scenario, case and seed), writing its report beside the run's."""

    def repro(target: str, scenario: str, case: str, seed: int) -> str:
        argv = ["faultkit", "run"]
        if plan.mode == "embedded":
            argv += ["--app", target]
        else:
            argv.append(target)
        argv += [*common, "--scenario", scenario, "--case", case, "--seed", str(seed)]
        argv += ["--no-report"] if report_dir is None else ["--report", f"{report_dir}/repro"]
        return shlex.join(argv)

    return repro


# -- running ---------------------------------------------------------------------------------------


def _cell_line(cell: Cell, repeated: bool) -> str:
    state = "!!" if not cell.passed else "--" if cell.category == "not_exercised" else "ok"
    seed = f" seed {cell.seed}" if repeated else ""
    return (
        f"{state} {cell.target} x {cell.scenario} [{cell.case}]"
        f"{seed}: {cell.verdict.kind} ({cell.result.duration_ms / 1000:.1f} s)"
    )


def _progress(err: TextIO, repeated: bool, bar: Bar | None) -> Any:
    """A line per finished cell on ``err``; on a terminal with rich, a bar over the cells
    instead, with each failing cell's line kept above it."""

    def show(cell: Cell, done: int, total: int) -> None:
        width = len(str(total))
        print(f"[{done:>{width}}/{total}] {_cell_line(cell, repeated)}", file=err, flush=True)

    def advance(cell: Cell, done: int, total: int) -> None:
        assert bar is not None
        if not cell.passed:
            bar.note(_cell_line(cell, repeated))
        bar.advance(f"{cell.target} x {cell.scenario}: {cell.verdict.kind}", total=total)

    return show if bar is None else advance


def main(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The previous report is read before anything runs: a bad one is a usage error (exit 2)
    # and must not cost a whole run first; and --report may overwrite that very file.
    previous = compare.load_previous(args.compare) if args.compare else None
    plan, common, origin = _plan(args)
    collector = _otlp_collector(plan, common, args)
    report_dir = None if args.no_report else args.report
    plan.repro = repro_command(plan, common, report_dir)
    cells = len(plan.targets) * len(plan.scenarios) * len(plan.cases)
    if not args.quiet:
        print(f"faultkit run: {origin}", file=err)
        repeated = f" x {plan.repeat} seeds" if plan.repeat > 1 else ""
        print(
            f"faultkit run: {len(plan.scenarios)} scenario(s) x {len(plan.targets)} target(s) x "
            f"{len(plan.cases)} case(s) = {cells} cell(s){repeated}",
            file=err,
            flush=True,
        )
    bar = None if args.quiet else progress_bar(err, "cells", cells * plan.repeat)
    try:
        report = run(plan, None if args.quiet else _progress(err, plan.repeat > 1, bar))
    except KeyboardInterrupt:
        print("faultkit run: interrupted; no verdict matrix, no report written", file=err)
        return EXIT_INTERRUPTED
    finally:
        if bar is not None:
            bar.close()
        if collector is not None:
            collector.close()
    if previous is not None:
        report.comparison = compare.compare(previous, report.cells)
    if args.json:
        out.write(report_json.dumps(scrubbed(report)))
    else:
        _print(report, out)
    if report_dir is not None:
        paths = write_reports(report, report_dir)
        print(f"reports: {', '.join(str(p) for p in paths)}", file=err if args.json else out)
    return report.exit_code


def _otlp_collector(plan: RunPlan, common: list[str], args: argparse.Namespace) -> Any:
    """With ``--otlp-port``: the running collector, the HTTP targets wrapped to read their
    spans from it (:mod:`faultkit.otel.target`), and the option kept for repro commands."""
    if args.otlp_port is None:
        return None
    if args.processes:
        raise RunError("--otlp-port and --processes: an HTTP target runs in this process")
    try:
        from faultkit.otel.target import with_collector
    except ImportError as exc:
        raise RunError(f"--otlp-port needs faultkit[otel] ({exc.name} is missing)") from None
    plan.targets, collector = with_collector(plan.targets, args.otlp_port)
    common += ["--otlp-port", str(args.otlp_port)]
    return collector


def _print(report: RunReport, out: TextIO) -> None:
    print(file=out)
    terminal.show_matrix(report, out)
    print(file=out)
    for line in terminal.details(report, terminal.terminal_width(out)):
        print(line, file=out)
    for line in terminal.stability(report):
        print(line, file=out)
    for line in terminal.changes(report):
        print(line, file=out)
    for line in terminal.summary(report):
        print(line, file=out)
