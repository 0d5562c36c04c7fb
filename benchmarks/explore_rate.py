"""Schedules per minute of ``faultkit explore robust --budget 200``, with and without --jobs.

    python benchmarks/explore_rate.py                           # this tree: --jobs 1 and 2
    python benchmarks/explore_rate.py --before /tmp/fk-before   # and an older checkout
    git worktree add /tmp/fk-before <commit>                    # (how to get one)

Each variant runs the bundled robust example app in a fresh process from its tree's own
sources (``python -c`` with the tree as working directory, so ``faultkit`` is imported from
there), with ``--no-database`` (no replayed failures) and the round's ``--seed``; variants are
interleaved round by round, so a shared machine's load falls on each alike, and the median of
the rounds is printed. A rate is schedules tried (``--json``'s ``schedules``: the budget plus
hypothesis's shrinking) over the command's wall time, polishing of findings included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CLI = "import sys; from faultkit.cli import main; sys.exit(main(sys.argv[1:]))"


def run_once(tree: Path, budget: int, jobs: int, seed: int) -> tuple[int, float]:
    """(schedules, wall seconds) of one ``faultkit explore robust`` from ``tree``."""
    with tempfile.TemporaryDirectory() as out:
        argv = ["explore", "robust", "--budget", str(budget), "--seed", str(seed)]
        argv += ["--no-database", "--json", "-q", "--scenarios-out", out]
        if jobs > 1:
            argv += ["--jobs", str(jobs)]
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", CLI, *argv],
            cwd=tree,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{tree}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)["schedules"], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", type=Path, help="an older checkout to measure too")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1, help="round N uses seed first+N-1")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    variants: list[tuple[str, Path, int]] = []
    if args.before:
        variants.append(("before", args.before, 1))
    variants += [(f"after, --jobs {j}" if j > 1 else "after", HERE, j) for j in args.jobs]
    rates: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for round_ in range(args.first_seed, args.first_seed + args.rounds):
        for name, tree, jobs in variants:
            load = os.getloadavg()[0]
            schedules, wall = run_once(tree, args.budget, jobs, seed=round_)  # seed = round
            rate = schedules / wall * 60
            rates[name].append(rate)
            print(
                f"round {round_}  {name:16} {schedules:4d} schedules in {wall:6.1f} s = "
                f"{rate:6.1f}/min  (load {load:.1f})",
                flush=True,
            )
    print(f"\nmedian of {args.rounds} rounds, budget {args.budget}, {os.cpu_count()} CPUs:")
    base = statistics.median(rates[variants[0][0]])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:16} {median:6.1f} schedules/min  ({median / base:.2f}x)")


if __name__ == "__main__":
    main()
