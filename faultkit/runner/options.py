"""What ``faultkit run`` and ``faultkit explore`` share on the command line.

Both run a target on cases from a cases file with recordings replayed, so both take the same
options for that, check them the same way, and repeat them in the commands they print to
reproduce a verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.runner.cases import CasesFile
from faultkit.runner.errors import RunError


def add_replay_options(parser: argparse.ArgumentParser, *, cassettes_help: str) -> None:
    """``--cases``, ``--case``, ``--cassettes``, ``--proxy`` and ``--timing-scale``."""
    parser.add_argument("--cases", metavar="FILE", help="cases file: inputs and the contract")
    parser.add_argument("--case", action="append", metavar="NAME", help="only this case")
    parser.add_argument("--cassettes", action="append", metavar="PATH", help=cassettes_help)
    parser.add_argument("--proxy", metavar="URL", help="control URL of the faultkit proxy")
    parser.add_argument(
        "--timing-scale",
        type=float,
        default=DEFAULT_TIMING_SCALE,
        metavar="FACTOR",
        help="scale the recorded stream timing (faults keep their own timing)",
    )


def cassette_paths(cases_file: CasesFile, args: argparse.Namespace) -> list[Path]:
    """The cases file's cassettes, then those given with ``--cassettes``; a missing one is a
    RunError now, rather than every request going unmatched later."""
    cassettes = cases_file.cassette_paths() + [Path(p) for p in args.cassettes or []]
    missing = [str(p) for p in cassettes if not p.exists()]
    if missing:
        raise RunError(f"cassette not found: {', '.join(missing)}")
    return cassettes


def replay_args(args: argparse.Namespace) -> list[str]:
    """``--cases``, ``--cassettes``, ``--proxy`` and ``--timing-scale`` as given, for a command
    that reproduces the run."""
    argv: list[str] = []
    if args.cases:
        argv += ["--cases", args.cases]
    argv += [a for p in args.cassettes or [] for a in ("--cassettes", p)]
    if args.proxy:
        argv += ["--proxy", args.proxy]
    if args.timing_scale != DEFAULT_TIMING_SCALE:
        argv += ["--timing-scale", f"{args.timing_scale:g}"]
    return argv
