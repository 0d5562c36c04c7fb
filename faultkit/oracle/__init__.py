"""The oracle: did the system under test fail in a controlled way?

``judge(ledger, result, contract, scenario)`` turns what faultkit recorded (the ledger) and what
the SUT produced (a :class:`Result`) into a :class:`Verdict` with evidence. Apps describe their
promises in a :class:`Contract` and their reasoning in a :class:`DecisionTrace`.

    result = capture(app.answer, "where is order 1042?")
    verdict = judge(engine.ledger, result, Contract(output_model=Answer), scenario)
    assert_controlled(verdict)
"""

from faultkit.oracle.assertions import assert_controlled, assert_verdict
from faultkit.oracle.contract import Contract
from faultkit.oracle.judge import judge
from faultkit.oracle.result import RaisedError, Result, acapture, capture
from faultkit.oracle.trace import (
    DecisionTrace,
    ToolOutput,
    ValidationResult,
    collect_traces,
    emit_trace,
)
from faultkit.oracle.verdict import (
    CONTROLLED_KINDS,
    SEVERITY,
    Finding,
    Verdict,
    VerdictKind,
    is_controlled,
)

__all__ = [
    "CONTROLLED_KINDS",
    "SEVERITY",
    "Contract",
    "DecisionTrace",
    "Finding",
    "RaisedError",
    "Result",
    "ToolOutput",
    "ValidationResult",
    "Verdict",
    "VerdictKind",
    "acapture",
    "assert_controlled",
    "assert_verdict",
    "capture",
    "collect_traces",
    "emit_trace",
    "is_controlled",
    "judge",
]
