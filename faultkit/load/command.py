"""``faultkit load``: options in, :func:`~faultkit.load.runner.run_load`, tables and exit code out.

Exit codes: 0 every gate holds; 1 a gate failed (each failing gate is named); 2 a usage
mistake (bad gate, unknown scenario, non-loopback target without ``--allow-remote``); 3 the
load test could not measure anything true (Locust, the proxy or the app did not start or died;
the target never answered; the fault-free baseline failed more than ``--max-baseline-errors``).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from faultkit.errors import FaultkitError
from faultkit.report.rich_view import progress_bar

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_RUN = 3

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str) -> float:
    """``60s``, ``2m``, ``1h30m``, ``500ms`` or plain seconds -> seconds."""
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match[1]) * scale[match[2]]
        pos = match.end()
    if pos != len(text) or not text:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration like 60s, 2m, 1h30m")
    return total


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def _share(text: str) -> float:
    """``5%`` or ``0.05`` -> 0.05."""
    body = text.strip()
    try:
        value = float(body[:-1]) / 100 if body.endswith("%") else float(body)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a percentage like 5%") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a percentage between 0% and 100%")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET_URL",
        help="the app's URL that Locust loads (loopback unless --allow-remote); default: "
        "the proxy replaying the bundled support cassettes (a demo of the machinery)",
    )
    parser.add_argument(
        "--app",
        default=None,
        metavar="CMD",
        help="start the app with this command, its upstreams' env vars (OPENAI_BASE_URL, "
        "ANTHROPIC_BASE_URL, faultkit.toml's tool URLs) pointed at the proxy's doors; "
        "stopped at the end (its stderr kept in --report)",
    )
    parser.add_argument(
        "--cassettes",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="cassette file or directory the upstream doors replay (repeatable)",
    )
    parser.add_argument(
        "--mode",
        choices=("replay", "passthrough"),
        default="replay",
        help="upstream doors: replay --cassettes (default) or pass through to the real services",
    )
    parser.add_argument(
        "--faults-at",
        choices=("upstream", "front"),
        default="upstream",
        help="upstream (default): faults between the app and its providers/tools, Locust loads "
        "the app; front: the proxy in front of the target (testing a client of a faulted "
        "service)",
    )
    parser.add_argument(
        "--proxy-port",
        type=int,
        default=None,
        metavar="N",
        help="first door port (doors take N, N+1, ...), for an app faultkit does not start",
    )
    parser.add_argument(
        "--config", type=Path, default=None, metavar="PATH", help="faultkit.toml (default: ./)"
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL[,env=VAR][,port=N]",
        help="add or override an upstream of the app",
    )
    parser.add_argument(
        "--cases",
        type=Path,
        default=None,
        metavar="FILE",
        help="faultkit run's cases file: its inputs are POSTed as JSON in turn, and each answer "
        "is judged by its contract (controlled vs uncontrolled share)",
    )
    parser.add_argument(
        "--ready-url",
        default=None,
        metavar="URL",
        help="polled until it answers before the load starts (default: the target)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=parse_duration,
        default=30.0,
        metavar="TIME",
        help="how long the target may take to answer first (default 30s); then exit 3",
    )
    parser.add_argument(
        "--max-baseline-errors",
        type=_share,
        default=0.05,
        metavar="PCT",
        help="a fault-free baseline failing more than this stops the test, exit 3 (default 5%%)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME|PATH",
        help="scenario to run against the baseline; repeat for several",
    )
    parser.add_argument("--users", type=int, default=10, help="concurrent users (default 10)")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=10.0,
        metavar="N",
        help="users started per second (default 10)",
    )
    parser.add_argument(
        "--duration",
        type=parse_duration,
        default=30.0,
        metavar="TIME",
        help="each run's length: 60s, 2m, 1h30m (default 30s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="REQ_PER_S",
        help="total arrival rate of the default open-loop users (default: 1 per user per second)",
    )
    parser.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="EXPR",
        help='SLO, e.g. "p99<2500ms", "p95<=800ms", "error_rate<1%%", "rps>100", '
        '"uncontrolled<0.1%%"; "raw.p99<..." gates on uncorrected latency',
    )
    parser.add_argument(
        "--locustfile",
        type=Path,
        default=None,
        metavar="PATH",
        help="your own locustfile (default: loadtests/through_proxy.py)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="run a Locust master and N local worker processes",
    )
    parser.add_argument(
        "--expected-interval-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="pace of closed-loop users, for the coordinated-omission "
        "correction (default: read from constant_pacing/constant_throughput)",
    )
    parser.add_argument("--method", default=None, help="HTTP method of the default user (GET)")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        type=_header,
        metavar="'NAME: VALUE'",
        help="request header; repeatable",
    )
    parser.add_argument("--body", default=None, metavar="TEXT|@FILE", help="request body")
    parser.add_argument(
        "--route",
        default=None,
        metavar="NAME",
        help="--faults-at front: the door's upstream name that scenario rules match "
        "(default: the scenarios' single route, else 'target')",
    )
    parser.add_argument(
        "--overhead-duration",
        type=parse_duration,
        default=None,
        metavar="TIME",
        help="--faults-at front: length of the direct run that measures the "
        "proxy's overhead (default: min(duration, 10s); 0 = skip)",
    )
    parser.add_argument(
        "--no-proxy", action="store_true", help="load the target directly (no faults, no baseline)"
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not on this machine"
    )
    parser.add_argument(
        "--drain",
        type=parse_duration,
        default=10.0,
        metavar="TIME",
        help="time given to in-flight requests when a run ends (default 10s)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write load.json, load.csv and load.html there (and the app's stderr)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the report (load.json's document) on stdout instead of the tables, for "
        "scripts; progress and file lines go to stderr",
    )
    parser.add_argument(
        "--result",
        type=Path,
        default=None,
        metavar="FILE",
        help="run nothing: check the gates against the --faultkit-result file of a Locust "
        "master you started yourself (e.g. with workers on other machines)",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``load`` on the ``faultkit`` command's subparsers."""
    parser = subparsers.add_parser(
        "load",
        help="load-test an app while its providers and tools misbehave: baseline vs "
        "scenarios, SLO gates",
        description="Locust loads the app while the fault proxy sits between the app and its "
        "upstreams: a fault-free baseline, then each scenario; print true tail latency "
        "(corrected for coordinated omission), errors, what was injected and the share of "
        "controlled answers, and exit 0 only when every --gate holds.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    missing = [m for m in ("locust", "hdrh") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"faultkit load: needs {' and '.join(missing)}: pip install 'faultkit[load]'",
            file=err,
        )
        return EXIT_USAGE
    from .gates import parse_gate
    from .report import report_json, write_reports
    from .results import LoadRunError
    from .runner import LoadOptions, run_load
    from .terminal import print_report

    try:
        gates = [parse_gate(text) for text in args.gate]
        body = args.body
        if body is not None and body.startswith("@"):
            try:
                body = Path(body[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise FaultkitError(f"--body {args.body}: cannot read: {exc.strerror}") from None
        options = LoadOptions(
            target=args.target,
            scenarios=args.scenario,
            app=args.app,
            cassettes=args.cassettes,
            mode=args.mode,
            faults_at=args.faults_at,
            proxy_port=args.proxy_port,
            config=args.config,
            upstreams=args.upstream,
            ready_url=args.ready_url,
            ready_timeout_s=args.ready_timeout,
            max_baseline_errors=args.max_baseline_errors,
            cases=args.cases,
            users=args.users,
            spawn_rate=args.spawn_rate,
            duration_s=args.duration,
            rate=args.rate,
            locustfile=args.locustfile,
            workers=args.workers,
            gates=gates,
            expected_interval_ms=args.expected_interval_ms,
            method=args.method,
            headers=dict(args.header),
            body=body,
            route=args.route,
            overhead_duration_s=args.overhead_duration,
            proxy=not args.no_proxy,
            allow_remote=args.allow_remote,
            drain_s=args.drain,
            keep_dir=args.report / "raw" if args.report else None,
            app_log_dir=args.report,
        )
    except FaultkitError as exc:
        print(f"faultkit load: {exc}", file=err)
        return EXIT_USAGE
    except ValidationError as exc:  # pydantic: a negative count, a zero duration
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"faultkit load: {where}: {first['msg']}", file=err)
        return EXIT_USAGE

    if args.result is not None:
        # The result file holds one merged run, not a load report: refuse the report options
        # rather than print text where --json promised JSON, or write nothing to --report.
        asked = (("--json", args.json), ("--report", args.report))
        unsupported = [name for name, on in asked if on]
        if unsupported:
            print(
                f"faultkit load: {' and '.join(unsupported)} cannot be used with --result "
                "(it checks the gates and prints the table; no load report is made)",
                file=err,
            )
            return EXIT_USAGE
        return _gate_result_file(args.result, gates, args.cases, out, err)

    lines = err if args.json else out  # with --json, stdout holds the JSON alone
    # On a terminal with rich: a bar per phase instead of a progress line every few seconds.
    bar = progress_bar(lines, None)

    def say(line: str) -> None:
        if bar is not None:
            bar.note(line)
        else:
            print(line, file=lines, flush=True)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through the runner, which kills its children

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    if main_thread:
        signal.signal(signal.SIGTERM, on_term)
    try:
        report = run_load(options, say=say, bar=bar)
    except LoadRunError as exc:
        print(f"faultkit load: {exc}", file=err)
        return EXIT_RUN
    except FaultkitError as exc:
        print(f"faultkit load: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("faultkit load: interrupted; load stopped", file=err)
        return 130
    finally:
        if bar is not None:
            bar.close()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(report_json(report), file=out)
    else:
        print_report(report, out)
    if args.report:
        for path in write_reports(report, args.report):
            print(f"wrote {path}", file=lines)
    failed = report.failed_gates
    if failed:
        names = ", ".join(sorted({o.gate.text for o in failed}))
        print(f"faultkit load: {len(failed)} gate(s) failed: {names}", file=err)
        return EXIT_GATE
    return EXIT_OK


def _gate_result_file(
    path: Path, gates: list[Any], cases: Path | None, out: TextIO, err: TextIO
) -> int:
    """Gates on a result a Locust master wrote (``--faultkit-result``); its histograms and
    answers hold every worker's requests, merged over Locust's own master/worker channel. The
    answers are judged by the ``--cases`` contract (or the default one)."""
    from .answers import judge_answers
    from .gates import evaluate
    from .plan import load_contract
    from .results import read_result
    from .terminal import answers, errors, table

    try:
        contract, source, _ = load_contract(cases)
        result = read_result(path, phase=path.stem, kind="scenario", host="-")
    except FaultkitError as exc:
        print(f"faultkit load: {exc}", file=err)
        return EXIT_USAGE
    result.answers = judge_answers(
        result.answer_keys, contract, result.counts.get("answers_unjudged", 0)
    )
    table([result], "corrected", out)
    print(f"correction: {result.correction}", file=out)
    errors([result], out)
    answers([result], source, out)
    if not result.complete:
        print("warning: incomplete result (a worker's final report was lost)", file=out)
    outcomes = evaluate(gates, [result])
    for outcome in outcomes:
        print(outcome.line(), file=out)
    failed = sorted({o.gate.text for o in outcomes if not o.ok})
    if failed:
        print(f"faultkit load: {len(failed)} gate(s) failed: {', '.join(failed)}", file=err)
        return EXIT_GATE
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faultkit load")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
