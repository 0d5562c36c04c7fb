"""``faultkit run --repeat N``: each cell under N seeds, and whether its verdict holds.

A scenario whose rules draw on the seed (``when: {probability: 0.3}``, a jittered latency) can
give a different verdict on another seed; one run shows one draw. Under ``--repeat N`` every
(target, scenario, case) runs with the seeds :func:`seeds` gives: the scenario's own seed (or
``--seed``) first, then the next N-1 integers. ``faultkit`` derives every random choice from
(seed, rule, call index) through a hash, so neighbouring seeds draw independently, and a seed
that is a small integer keeps the repro command readable: each run's repro names its seed and
re-runs exactly that one draw.

**The cell's verdict is its worst run's** (:func:`worst`): a run that fails the run beats one
that passes; among those, uncontrolled beats harness_error beats not_exercised beats
controlled; ties go to the earliest seed. So a cell controlled on 9 seeds out of 10 fails a
nightly job exactly as the one uncontrolled seed would on its own, and the cell's seed, ledger
and repro are that run's. The other runs are kept as :class:`~faultkit.runner.model.SeedRun`
rows (verdict, seed, repro; no ledgers, which would multiply the report by N).

The controlled share is counted over the *judged* runs (controlled or uncontrolled): a run
where no fault fired, or the harness failed, says nothing about the target. Its interval is the
Wilson score interval, which stays inside [0, 1] and is honest at the small N and the 0 % or
100 % shares a nightly run mostly sees, where the normal approximation gives [1, 1] for 5/5.
"""

from __future__ import annotations

import math
from collections import Counter

from faultkit.runner.model import Cell, Repeat, SeedRun

Z_95 = 1.959964  # two-sided 95 % quantile of the standard normal distribution
_SEVERITY = {"uncontrolled": 0, "harness_error": 1, "not_exercised": 2, "controlled": 3}


def seeds(first: int, n: int) -> list[int]:
    """The N seeds of a repeated cell: ``first`` (the scenario's or ``--seed``), then the next
    N-1 integers."""
    return [first + i for i in range(n)]


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of ``successes`` out of ``n`` (n > 0), clamped to [0, 1]."""
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def worst(runs: list[Cell]) -> Cell:
    """The run a repeated cell reports (see the module docstring); ``runs`` in seed order."""
    return min(runs, key=lambda c: (c.passed, _SEVERITY[c.category]))


def merge(runs: list[Cell]) -> Cell:
    """One cell for N seeds' runs of the same (target, scenario, case): the worst run, with
    every run's verdict and the controlled share in ``repeat``."""
    counts = Counter(c.verdict.kind for c in runs)
    judged = [c for c in runs if c.category in ("controlled", "uncontrolled")]
    controlled = sum(1 for c in judged if c.category == "controlled")
    share = low = high = None
    if judged:
        share = controlled / len(judged)
        low, high = wilson(controlled, len(judged))
    repeat = Repeat(
        runs=[
            SeedRun(
                seed=c.seed,
                kind=c.verdict.kind,
                category=c.category,
                passed=c.passed,
                duration_ms=round(c.result.duration_ms, 1),
                repro=c.repro,
            )
            for c in runs
        ],
        counts=dict(counts.most_common()),
        judged=len(judged),
        controlled=controlled,
        share=share,
        low=low,
        high=high,
        stable=len(counts) == 1,
    )
    return worst(runs).model_copy(update={"repeat": repeat})
