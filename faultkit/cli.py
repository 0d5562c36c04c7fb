"""The ``faultkit`` command: argument parsing and printing only.

Logic lives in :mod:`faultkit.catalogue`, :mod:`faultkit.derive` and :mod:`faultkit.scenario`;
this module turns options into calls and results into lines. Every user mistake (a missing
path, an unreadable file, broken YAML, an unknown scenario) is a
:class:`~faultkit.errors.FaultkitError`, printed on stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TextIO

from faultkit import catalogue
from faultkit.derive import derive
from faultkit.doors.proxy.command import add_parser as add_proxy_parser
from faultkit.errors import FaultkitError
from faultkit.explore.command import add_parser as add_explore_parser
from faultkit.load.command import add_parser as add_load_parser
from faultkit.report.rich_view import show_table
from faultkit.runner.command import add_parser as add_run_parser

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _version() -> str:
    try:
        return metadata.version("faultkit")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultkit",
        description="Chaos and fault-injection testing for LLM systems.",
    )
    parser.add_argument("--version", action="version", version=f"faultkit {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_parser(commands)
    add_explore_parser(commands)

    scenarios = commands.add_parser(
        "scenarios", help="validate, list, show and export scenario files"
    )
    actions = scenarios.add_subparsers(dest="action", metavar="ACTION")

    validate = actions.add_parser(
        "validate", help="check scenario files; print every problem as file:line: field: message"
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="scenario file or directory")
    validate.set_defaults(run=_validate)

    listing = actions.add_parser("list", help="table of scenarios (default: the catalogue)")
    listing.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="file or directory, or a bundled set (red-team, model-behaviour); default: "
        "./scenarios + the bundled catalogue",
    )
    listing.add_argument(
        "--json", action="store_true", help="print the list as JSON (for scripts), not a table"
    )
    listing.set_defaults(run=_list)

    show = actions.add_parser("show", help="print one scenario file")
    show.add_argument("name", metavar="NAME", help="scenario name or file path")
    show.set_defaults(run=_show)

    derive = actions.add_parser(
        "derive",
        help="the scenarios that apply to your cassettes: a table, or one file each with -o",
        description="Derive the applicable scenario set from recorded traffic: each bundled "
        "family instantiated for the providers, streams, tool calls, structured answers and "
        "tool routes the cassettes show. `faultkit run` uses the same set when it is given "
        "cassettes and no --scenarios.",
    )
    derive.add_argument(
        "paths", nargs="+", metavar="CASSETTE_OR_DIR", help="cassette file or directory"
    )
    derive.add_argument(
        "-o", "--output", metavar="DIR", help="write one scenario file per scenario into DIR"
    )
    derive.add_argument(
        "--deadline-ms",
        type=float,
        metavar="MS",
        help="the app's deadline (its contract's deadline_ms, as faultkit run passes it): a "
        "silent tool or a stalled stream lasts past it, so a missing timeout shows as a hang "
        "(default: 5 s)",
    )
    derive.set_defaults(run=_derive)

    schema = actions.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    schema.set_defaults(run=_schema)

    add_proxy_parser(commands)
    add_load_parser(commands)

    # With no action, print the help of the deepest command given (defaults of the
    # subparser that ran override the parent's).
    parser.set_defaults(usage_of=parser)
    scenarios.set_defaults(usage_of=scenarios)
    return parser


def _problems(lines: list[str], err: TextIO) -> None:
    for line in lines:
        print(line, file=err)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = catalogue.validate(args.paths)
    if report.ok:
        print(f"{_plural(len(report.scenarios), 'scenario')} valid", file=out)
        return EXIT_OK
    _problems(report.problems, err)
    print(
        f"{_plural(len(report.problems), 'problem')}; "
        f"{len(report.scenarios)} of {_plural(len(report.files), 'file')} valid",
        file=err,
    )
    return EXIT_USAGE


def _table(rows: list[list[str]], out: TextIO) -> None:
    show_table(out, rows[1:], header=rows[0])


def _list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.path in catalogue.SETS and not Path(args.path).exists():
        args.path = str(catalogue.set_dir(args.path) or args.path)
    report = catalogue.validate([args.path]) if args.path else catalogue.catalogue()
    found = sorted(report.scenarios, key=lambda item: item[1].name)
    summaries = [(path, catalogue.summarize(scenario)) for path, scenario in found]
    if args.json:
        listed = [{**dataclasses.asdict(row), "path": str(path)} for path, row in summaries]
        print(json.dumps(listed, indent=2, ensure_ascii=False), file=out)
        _problems(report.problems, err)
        return EXIT_OK if report.ok else EXIT_USAGE
    rows = [["NAME", "RULES", "FAULTS", "DESCRIPTION"]]
    for _, row in summaries:
        rows.append([row.name, str(row.rules), ",".join(row.faults) or "-", row.description])
    if len(rows) > 1:
        _table(rows, out)
    _problems(report.problems, err)
    return EXIT_OK if report.ok else EXIT_USAGE


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = catalogue.resolve(args.name)
    catalogue.load(path)  # a broken file is reported, located, instead of printed as if fine
    print(f"# {path}", file=out)
    out.write(path.read_text(encoding="utf-8"))
    return EXIT_OK


def _derive(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    found = derive(args.paths, args.deadline_ms)
    if not found:
        print(
            f"no scenario applies to {' '.join(args.paths)}: no provider call or tool route "
            "is recorded there",
            file=err,
        )
        return EXIT_FAILED
    if args.output is None:
        rows = [["NAME", "FAULTS", "TARGETS", "WHY"]]
        for item in found:
            faults = catalogue.summarize(item.scenario).faults
            rows.append([item.scenario.name, ",".join(faults), item.targets, item.why])
        _table(rows, out)
        return EXIT_OK
    directory = Path(args.output)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for item in found:
            (directory / f"{item.scenario.name}.yaml").write_text(
                item.scenario.to_yaml(), encoding="utf-8"
            )
    except OSError as exc:
        print(f"{directory}: cannot write: {exc.strerror or exc}", file=err)
        return EXIT_USAGE
    print(f"wrote {_plural(len(found), 'scenario file')} to {directory}", file=out)
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    text = catalogue.schema_text()
    if args.output is None:
        out.write(text)
        return EXIT_OK
    target = Path(args.output)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"{target}: cannot write: {exc.strerror or exc}", file=err)
        return EXIT_USAGE
    print(f"wrote {target}", file=err)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        # `faultkit` or `faultkit scenarios` alone: show what can follow.
        args.usage_of.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return run(args, sys.stdout, sys.stderr)
    except FaultkitError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `faultkit scenarios list | head`: the reader left, which is not an error. Point
        # stdout at devnull so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
