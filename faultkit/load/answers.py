"""Controlled failure under load: each answer the app gave, judged by its contract.

The rule is the oracle's, not a second one: every distinct answer (status, body, late or not,
or no answer at all) becomes the :class:`~faultkit.oracle.result.Result` an HTTP target gives
``faultkit run`` and goes through :func:`~faultkit.oracle.judge.judge` with the contract of the
``--cases`` file (or the default contract: a 5xx or no answer is a crash, a 4xx an explicit
error). A verdict in :data:`~faultkit.oracle.verdict.CONTROLLED_KINDS` is controlled.

What load cannot judge: the ledger-based checks (retries per logical call, drifted *values*
traced to a fault, unknown-as-known) need to know which upstream exchanges belong to which
answer, and concurrent requests share the proxy. Answers are judged on what they carry: status,
shape, error body, trace, deadline. ``faultkit run`` judges one request at a time for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from faultkit.oracle.contract import Contract
from faultkit.oracle.judge import judge
from faultkit.oracle.result import RaisedError, Result
from faultkit.oracle.verdict import CONTROLLED_KINDS, UNJUDGED_KINDS

from .results import AnswerSplit


def wants_bodies(contract: Contract) -> bool:
    """Whether judging needs each answer's body (else its status is enough)."""
    return (
        contract.output_model is not None
        or contract.error_model is not None
        or contract.trace_required
    )


def result_of(key: Mapping[str, Any], deadline_ms: float | None) -> Result | None:
    """The Result ``faultkit run``'s HTTP target would have produced for this answer (None:
    nothing to judge, e.g. a body too large to keep)."""
    late = bool(key.get("late"))
    duration = (deadline_ms or 0.0) + 1.0 if late else 0.0
    if key.get("timed_out"):
        return Result(duration_ms=duration, timed_out=True)
    status = int(key.get("status") or 0)
    if not status:
        name = str(key.get("error") or "no answer")
        error = RaisedError(type=name, bases=[name], message="no HTTP answer")
        return Result(error=error, duration_ms=duration)
    if key.get("too_large"):
        return None
    if "body" not in key:  # the contract looks at statuses only
        return Result.returned(None, duration, status=status)
    return Result.http_answer(status, key["body"], duration)


def judge_answers(keys: Mapping[str, int], contract: Contract, unjudged: int = 0) -> AnswerSplit:
    """Count the answers of one run (``keys``: JSON answer key -> count) by verdict."""
    split = AnswerSplit(unjudged=unjudged)
    for text, count in keys.items():
        split.total += count
        result = result_of(json.loads(text), contract.deadline_ms)
        if result is None:
            split.unjudged += count
            continue
        verdict = judge([], result, contract)
        kind = verdict.kind
        if kind in UNJUDGED_KINDS:
            split.unjudged += count
            continue
        split.verdicts[kind] = split.verdicts.get(kind, 0) + count
        split.examples.setdefault(kind, verdict.headline.summary)
        if kind in CONTROLLED_KINDS:
            split.controlled += count
        else:
            split.uncontrolled += count
    split.total += unjudged
    split.verdicts = dict(sorted(split.verdicts.items(), key=lambda kv: -kv[1]))
    return split
