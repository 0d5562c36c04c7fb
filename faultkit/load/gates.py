"""SLO gates: ``--gate "p99<2500ms"`` parsed, checked against a run, and named when they fail.

Grammar: ``[raw.|corrected.]METRIC OP VALUE[UNIT]``

========================  ==================================================  ================
metric                    meaning                                             units
========================  ==================================================  ================
``p50`` ``p99`` ``p99.9``  a latency percentile (any number 0-100)             ``ms`` (default),
``max`` ``mean``          the largest / mean latency                          ``s``, ``us``
``error_rate``            failed requests / requests                          ``%`` or a fraction
``rps``                   completed requests per second                       plain, or ``/s``
``uncontrolled``          answers judged uncontrolled by the contract          ``%`` or a fraction
``controlled``            answers judged controlled (pass, declared error)    ``%`` or a fraction
========================  ==================================================  ================

``OP`` is ``<``, ``<=``, ``>`` or ``>=``. Latency gates use the **corrected** latency (measured
from each arrival's intended start, or back-filled for a paced closed-loop user: see
:mod:`.histogram`) unless prefixed ``raw.``. A gate with nothing to measure (no requests)
fails: an empty run proves nothing. A gate that cannot be measured is **broken**, not passed:
a latency gate on a run in which the target never answered (instant connection errors are not
latency), an answer-share gate with no judged answer.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from faultkit.errors import FaultkitError

from .results import PhaseResult

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_GATE = re.compile(
    r"^\s*(?:(?P<view>raw|corrected)\.)?(?P<metric>p\d+(?:\.\d+)?|max|mean|error_rate|rps|uncontrolled|controlled)"
    r"\s*(?P<op><=|>=|<|>)\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[a-zµ%/]*)\s*$",
    re.IGNORECASE,
)
SHARES = ("uncontrolled", "controlled")
_TIME_UNITS = {"": 1.0, "ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001}


class GateError(FaultkitError):
    """A ``--gate`` expression that cannot be parsed."""


class Gate(BaseModel):
    """One SLO: ``metric op threshold``; thresholds are ms, a fraction, or requests/s."""

    text: str
    view: Literal["raw", "corrected"] = "corrected"
    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return self.text

    def value(self, result: PhaseResult) -> float | None:
        """What the run measured for this gate's metric (None: nothing measured)."""
        if result.requests == 0:
            return None
        if self.metric == "error_rate":
            return result.error_rate
        if self.metric == "rps":
            return result.rps
        if self.metric in SHARES:
            return result.answers.share(self.metric) if result.answers else None
        if result.answered == 0:
            return None  # no answer at all: nothing was measured but connection errors
        summary = result.raw if self.view == "raw" else result.corrected
        if self.metric == "max":
            return summary.max_ms
        if self.metric == "mean":
            return summary.mean_ms
        return result.percentile_ms(float(self.metric[1:]), self.view)

    def describe(self, value: float | None) -> str:
        """``p99 (corrected) = 3012.4 ms``: the measured side of the comparison."""
        if value is None:
            if self.metric in SHARES:
                return f"{self.metric}: no answer judged"
            return f"{self.metric}: nothing measured (no requests, or none answered)"
        if self.metric in ("error_rate", *SHARES):
            return f"{self.metric} = {value * 100:.3g}%"
        if self.metric == "rps":
            return f"rps = {value:.1f}"
        return f"{self.metric} ({self.view}) = {value:.1f} ms"


class GateOutcome(BaseModel):
    gate: Gate
    phase: str
    value: float | None
    ok: bool

    @property
    def broken(self) -> bool:
        """Nothing to measure: the gate failed without a comparison."""
        return self.value is None

    def line(self) -> str:
        verdict = "ok  " if self.ok else "BROKEN" if self.broken else "FAIL"
        return (
            f"gate {verdict} {self.gate.text:<18} [{self.phase}] {self.gate.describe(self.value)}"
        )


def parse_gate(text: str) -> Gate:
    """``"p99<2500ms"`` -> :class:`Gate`; raises :class:`GateError` naming what is wrong."""
    match = _GATE.match(text)
    if match is None:
        raise GateError(
            f"--gate {text!r}: expected METRIC OP VALUE, e.g. p99<2500ms, p95<=800ms, "
            "error_rate<1%, rps>100, uncontrolled<0.1% (metrics: pNN, max, mean, error_rate, rps, "
            "uncontrolled, controlled)"
        )
    metric = match["metric"].lower()
    unit = match["unit"].lower()
    number = float(match["number"])
    view = (match["view"] or "corrected").lower()
    if metric in ("error_rate", *SHARES):
        if unit == "%":
            threshold = number / 100.0
        elif unit == "":
            if number > 1:
                raise GateError(
                    f"--gate {text!r}: {metric} is a fraction; did you mean {number:g}%?"
                )
            threshold = number
        else:
            raise GateError(f"--gate {text!r}: {metric} takes % or a fraction, not {unit!r}")
    elif metric == "rps":
        if unit not in ("", "/s"):
            raise GateError(f"--gate {text!r}: rps takes a plain number (requests per second)")
        threshold = number
    else:
        if metric.startswith("p") and not 0 < float(metric[1:]) < 100:
            raise GateError(f"--gate {text!r}: a percentile is between 0 and 100 (p50, p99.9)")
        if unit not in _TIME_UNITS:
            raise GateError(f"--gate {text!r}: unknown unit {unit!r} (use ms, s or us)")
        threshold = number * _TIME_UNITS[unit]
    return Gate(
        text=text.strip().replace(" ", ""),
        view=view,  # type: ignore[arg-type]
        metric=metric,
        op=match["op"],
        threshold=threshold,
    )


def evaluate(gates: list[Gate], results: list[PhaseResult]) -> list[GateOutcome]:
    """Every gate against every result given (the scenario runs; the baseline when there are
    none)."""
    outcomes = []
    for result in results:
        for gate in gates:
            value = gate.value(result)
            ok = value is not None and _OPS[gate.op](value, gate.threshold)
            outcomes.append(GateOutcome(gate=gate, phase=result.phase, value=value, ok=ok))
    return outcomes
